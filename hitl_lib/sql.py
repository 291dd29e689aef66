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


def insert_statement(obj):
    """The INSERT that `obj.save(force_insert=True)` would send, as (sql, params), built by
    Django's own INSERT compiler (defaults and `pre_save` applied as a save applies them), for a
    caller that sends it together with other statements: one round trip instead of several."""
    meta = obj._meta
    fields = [field for field in meta.local_concrete_fields if not field.generated]
    query = sql.InsertQuery(obj.__class__)
    query.insert_values(fields, [obj])
    [(statement, params)] = query.get_compiler(using=obj._state.db or "default").as_sql()
    return statement, params
