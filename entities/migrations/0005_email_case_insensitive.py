# E-mail addresses become case-insensitive (SPEC 6): stored lower-cased, unique per canvas.
#
# Existing rows are normalised first. Entities of one canvas whose addresses differ only
# by case (or not at all: nothing enforced uniqueness before) are NOT merged, since each
# has its own journey and runs. The oldest one (created_at, then id) keeps the address,
# which is also the one webhook processing already matched (it took the oldest); every
# other one keeps all its data but gives up the address: `email` becomes NULL and the
# address as it was stored goes into `metadata.duplicate_email`, with the id of the
# entity that kept it in `metadata.duplicate_of`. An operator can merge or re-address
# them by hand; nothing is lost.

from django.db import migrations, models

import entities.fields


def normalise(address):
    # Same rule as entities.services.email_normalise (copied: migrations are frozen).
    return address.strip().lower() or None


def normalise_emails(apps, schema_editor):
    Entity = apps.get_model("entities", "Entity")
    rows = (
        Entity.objects.exclude(email=None)
        .order_by("canvas_id", "created_at", "id")
        .values_list("id", "canvas_id", "email")
    )
    keepers: dict[tuple, object] = {}
    for entity_id, canvas_id, email in rows.iterator(chunk_size=2000):
        address = normalise(email)
        keeper = keepers.setdefault((canvas_id, address), entity_id) if address else None
        if keeper == entity_id and address == email:
            continue
        entity = Entity.objects.get(pk=entity_id)
        if keeper is not None and keeper != entity_id:
            entity.metadata = {
                **(entity.metadata if isinstance(entity.metadata, dict) else {}),
                "duplicate_email": email,
                "duplicate_of": str(keeper),
            }
            entity.email = None
        else:
            entity.email = address
        entity.save(update_fields=["email", "metadata"])


class Migration(migrations.Migration):

    dependencies = [
        ("entities", "0004_journey_arrivals_index"),
        ("flows", "0004_run_version_cascade"),
    ]

    operations = [
        migrations.RunPython(normalise_emails, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="entity",
            name="email",
            field=entities.fields.EmailAddressField(blank=True, null=True),
        ),
        migrations.RemoveIndex(
            model_name="entity",
            name="idx_stitch_entities_canvas_email",
        ),
        migrations.AddConstraint(
            model_name="entity",
            constraint=models.UniqueConstraint(
                fields=("canvas", "email"), name="uniq_stitch_entities_canvas_email"
            ),
        ),
    ]
