"""What Django's ORM does not say itself: an UPDATE that returns the rows it changed."""

from django.db import connections, transaction
from django.db.models import sql


def update_returning(queryset, **changes):
    """`queryset.update(**changes)` in one statement that returns the primary keys of the rows it
    changed (PostgreSQL's RETURNING), so a conditional UPDATE says which rows it claimed, not only
    how many. Built by Django's own UPDATE compiler, as `QuerySet.update` builds it."""
    query = queryset.query.chain(sql.UpdateQuery)
    query.add_update_values(changes)
    query.clear_select_clause()
    connection = connections[queryset.db]
    with transaction.mark_for_rollback_on_error(using=queryset.db):
        statement, params = query.get_compiler(queryset.db).as_sql()
        if not statement:
            return []
        with connection.cursor() as cursor:
            pk = connection.ops.quote_name(queryset.model._meta.pk.column)
            cursor.execute(f"{statement} RETURNING {pk}", params)
            return [row[0] for row in cursor.fetchall()]
