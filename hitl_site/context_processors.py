"""What every page's navigation needs to know about the person looking."""

from django.utils.functional import SimpleLazyObject


def roles(request):
    """`roles`: the names of the user's groups, read once and only if a template asks."""

    def names():
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return frozenset()
        return frozenset(user.groups.values_list("name", flat=True))

    return {"roles": SimpleLazyObject(names)}
