from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from stitch.models import User

admin.site.site_header = "Stitch operators"
admin.site.site_title = "Stitch"
admin.site.register(User, UserAdmin)
