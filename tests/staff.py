"""Operator accounts for the admin and console tests, in the roles console/roles.py defines."""

from django.contrib.auth.models import Group, User


def member(group: str) -> User:
    """A staff user of ``group`` ("Owner", "Support"), named after it."""
    user = User.objects.create_user(group.lower(), password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def staff(client, name: str, group: str) -> User:
    """A staff user of ``group``, signed in on ``client``."""
    user = User.objects.create_user(name, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user
