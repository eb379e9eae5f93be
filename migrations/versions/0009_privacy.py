"""privacy: contacts share no value with tips; engagement by day under its own key; suppressions

Contacts get `engagement_key` (hotline.privacy) instead of the reporter key; dials, agency checks
and inbound SMS lose theirs (`ussd_session_end.reporter_key`, `agency_lookup.reporter_key` and
`checked_at`, `inbound_sms.sender_key`); campaign effect reads `engagement` (Nairobi day, signal,
and the engagement key sealed: `hotline.privacy.seal_engagement`, a random nonce each row, so no
row equals a contact's value or another row's) instead. Numbers that opted out without joining (contacts with consent_source
`never_joined`) become `suppression` rows: a keyed hash, no number.

Existing rows: the keys are computed from each contact's number with PHONE_HASH_KEY, which
`flask db upgrade` hands to this migration (it refuses to run on a database with contacts
without it). A contact's past dials, tips, checks and SMS are carried into `engagement` by their
old reporter key, so past campaigns' effect is kept (counted by day from now on), sealed, one row
per (person, day, signal), written in day order and shuffled within a day, so that row order does
not group one person's rows either. Engagement of
people who are not contacts is dropped: it could never count for a campaign. Kept delivery reports
of contacts' numbers get their delivery key; the others lose their key (they only served a
reconcile window of minutes).

Downgrade restores the columns (reporter keys of contacts recomputed from their numbers); the
engagement history and suppressions cannot be turned back into the old rows and are dropped.

Revision ID: 0009_privacy
Revises: 0008_ussd_state_backup
"""

import os
import random

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql, sqlite

from hotline.core.engagement import day_of
from hotline.core.privacy import delivery_key, engagement_key, reporter_key, seal_engagement, suppression_key

revision = '0009_privacy'
down_revision = '0008_ussd_state_backup'
branch_labels = None
depends_on = None

CHUNK = 500
NEVER_JOINED = 'never_joined'

contact = sa.table(
    'contact',
    sa.column('id', sa.Integer),
    sa.column('phone', sa.String),
    sa.column('reporter_key', sa.String),
    sa.column('engagement_key', sa.String),
    sa.column('consent_source', sa.String),
    sa.column('opted_out_at', sa.DateTime(timezone=True)),
    sa.column('opt_out_source', sa.String),
)
unmatched = sa.table('unmatched_delivery_report', sa.column('id', sa.Integer), sa.column('phone_key', sa.String))
recipient = sa.table('campaign_recipient', sa.column('contact_id', sa.Integer))
engagement = sa.table(
    'engagement', sa.column('day', sa.Date), sa.column('signal', sa.String), sa.column('sealed_key', sa.Text)
)
suppression = sa.table(
    'suppression', sa.column('suppression_key', sa.String), sa.column('source', sa.String), sa.column('day', sa.Date)
)
# Where each signal lived before, as (table, key column, time column, extra condition).
HISTORY = {
    'dialled': ('ussd_session_end', 'reporter_key', 'received_at', None),
    'tip': ('tip', 'reporter_key', 'created_at', None),
    'agency_check': ('agency_lookup', 'reporter_key', 'checked_at', None),
    'sms': ('inbound_sms', 'sender_key', 'received_at', "keyword != 'stop'"),
}


def _phone_hash_key(connection) -> str | None:
    """The key `flask db upgrade` passes; needed only when there are contacts to rekey."""
    if connection.execute(sa.select(sa.func.count()).select_from(contact)).scalar_one() == 0:
        return None
    key = context.config.attributes.get('phone_hash_key') or os.environ.get('PHONE_HASH_KEY')
    if not key:
        raise RuntimeError(
            'migration 0009_privacy needs PHONE_HASH_KEY to rekey the existing contacts: '
            'run it with `flask db upgrade`, in the environment of the service'
        )
    return key


def _insert_ignoring(connection, table, rows) -> None:
    if rows:
        dialect = postgresql if connection.dialect.name == 'postgresql' else sqlite
        connection.execute(dialect.insert(table).on_conflict_do_nothing(), rows)


def _rekey(connection, key: str) -> None:
    history = set()  # (day, signal, engagement key) of contacts' past dials, tips, checks and SMS
    kept = dict(connection.execute(sa.select(unmatched.c.id, unmatched.c.phone_key)).all())
    new_keys = {}  # old reporter key of a contact's number -> its delivery key
    last = 0
    while True:
        rows = connection.execute(
            sa.select(contact).where(contact.c.id > last).order_by(contact.c.id).limit(CHUNK)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        in_campaigns = set(
            connection.execute(
                sa.select(recipient.c.contact_id).where(recipient.c.contact_id.in_([r.id for r in rows]))
            ).scalars()
        )
        gone = [r for r in rows if r.consent_source == NEVER_JOINED and r.id not in in_campaigns]
        _insert_ignoring(
            connection,
            suppression,
            [
                {
                    'suppression_key': suppression_key(r.phone, key),
                    'source': (r.opt_out_source or 'sms')[:20],
                    'day': day_of(r.opted_out_at),
                }
                for r in gone
            ],
        )
        if gone:
            connection.execute(sa.delete(contact).where(contact.c.id.in_([r.id for r in gone])))
        gone_ids = {r.id for r in gone}
        stay = [r for r in rows if r.id not in gone_ids]
        if not stay:
            continue
        keys = {r.reporter_key: engagement_key(r.phone, key) for r in stay}
        connection.execute(
            contact.update().where(contact.c.id == sa.bindparam('cid')).values(engagement_key=sa.bindparam('ek')),
            [{'cid': r.id, 'ek': keys[r.reporter_key]} for r in stay],
        )
        new_keys.update({r.reporter_key: delivery_key(r.phone, key) for r in stay})
        for signal, (table, key_column, time_column, where) in HISTORY.items():
            moment = sa.column(time_column, sa.DateTime(timezone=True))
            query = sa.select(sa.column(key_column), moment).select_from(sa.table(table))
            query = query.where(sa.column(key_column).in_(list(keys)), moment.is_not(None))
            if where:
                query = query.where(sa.text(where))
            history.update((day_of(when), signal, keys[k]) for k, when in connection.execute(query))
    _carry(connection, history, key)
    changes = [{'uid': uid, 'pk': new_keys.get(old)} for uid, old in kept.items() if old is not None]
    if changes:
        connection.execute(
            unmatched.update().where(unmatched.c.id == sa.bindparam('uid')).values(phone_key=sa.bindparam('pk')),
            changes,
        )


def _carry(connection, history: set, key: str) -> None:
    """Write the carried history sealed: by day (ids then say no more than the day), shuffled within
    a day, so neither a value nor the order of rows groups one person's."""
    rows = list(history)
    random.SystemRandom().shuffle(rows)
    rows.sort(key=lambda row: row[0])  # stable: still shuffled within a day
    for start in range(0, len(rows), CHUNK):
        connection.execute(
            engagement.insert(),
            [
                {'day': day, 'signal': signal, 'sealed_key': seal_engagement(ekey, key)}
                for day, signal, ekey in rows[start : start + CHUNK]
            ],
        )


def upgrade() -> None:
    connection = op.get_bind()
    key = _phone_hash_key(connection)  # first: SQLite does not roll back DDL
    op.create_table('engagement',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('signal', sa.String(length=12), nullable=False),
    sa.Column('sealed_key', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement'))
    )
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_day'), ['day'], unique=False)

    op.create_table('suppression',
    sa.Column('suppression_key', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('suppression_key', name=op.f('pk_suppression'))
    )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('engagement_key', sa.String(length=64), nullable=True))

    if key is not None:
        _rekey(connection, key)
    else:
        connection.execute(unmatched.update().values(phone_key=None))

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.alter_column('engagement_key', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_index(batch_op.f('ix_contact_reporter_key'))
        batch_op.drop_column('reporter_key')
        batch_op.create_index(batch_op.f('ix_contact_engagement_key'), ['engagement_key'], unique=False)

    with op.batch_alter_table('ussd_session_end', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ussd_session_end_reporter_key'))
        batch_op.drop_column('reporter_key')

    with op.batch_alter_table('agency_lookup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_lookup_reporter_key'))
        batch_op.drop_index(batch_op.f('ix_agency_lookup_checked_at'))
        batch_op.drop_column('reporter_key')
        batch_op.drop_column('checked_at')

    with op.batch_alter_table('inbound_sms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_sms_sender_key'))
        batch_op.drop_column('sender_key')


def downgrade() -> None:
    connection = op.get_bind()
    key = _phone_hash_key(connection)  # first: SQLite does not roll back DDL
    with op.batch_alter_table('inbound_sms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender_key', sa.String(length=64), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_inbound_sms_sender_key'), ['sender_key'], unique=False)

    with op.batch_alter_table('agency_lookup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reporter_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_agency_lookup_checked_at'), ['checked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_agency_lookup_reporter_key'), ['reporter_key'], unique=False)

    with op.batch_alter_table('ussd_session_end', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reporter_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_ussd_session_end_reporter_key'), ['reporter_key'], unique=False)

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reporter_key', sa.String(length=64), nullable=True))
    if key is not None:
        rows = connection.execute(sa.select(contact.c.id, contact.c.phone)).all()
        connection.execute(
            contact.update().where(contact.c.id == sa.bindparam('cid')).values(reporter_key=sa.bindparam('rk')),
            [{'cid': cid, 'rk': reporter_key(phone, key)} for cid, phone in rows],
        )
    connection.execute(unmatched.update().values(phone_key=None))
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.alter_column('reporter_key', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_index(batch_op.f('ix_contact_engagement_key'))
        batch_op.drop_column('engagement_key')
        batch_op.create_index(batch_op.f('ix_contact_reporter_key'), ['reporter_key'], unique=False)

    op.drop_table('suppression')
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_engagement_day'))
    op.drop_table('engagement')
