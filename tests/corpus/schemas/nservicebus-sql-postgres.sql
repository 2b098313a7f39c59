-- NServiceBus SQL persistence's outbox on PostgreSQL (the Particular.NServiceBus.SqlPersistence
-- script generator's Outbox_Create script), restated in this project's own words. The table is
-- named by the endpoint at install time, so its DDL is built as a string and run with EXECUTE:
-- nothing outside PostgreSQL can see the table it makes.
create or replace function pg_temp.create_outbox_table(tablePrefix varchar, schema varchar)
  returns integer as
$body$
declare
  tableNameNonQuoted varchar;
  script text;
begin
  tableNameNonQuoted := tablePrefix || 'OutboxData';
  script = 'create table if not exists "' || schema || '"."' || tableNameNonQuoted || '"
(
    "MessageId" character varying(200),
    "Dispatched" boolean not null default false,
    "DispatchedAt" timestamp,
    "PersistenceVersion" character varying(23),
    "Operations" jsonb not null,
    primary key ("MessageId")
);';
  execute script;
  script = 'create index if not exists "' || tableNameNonQuoted || '_DispatchedIndex" on "'
    || schema || '"."' || tableNameNonQuoted || '" ("DispatchedAt") where "Dispatched" = true;';
  execute script;
  return 0;
end;
$body$
language 'plpgsql';

select pg_temp.create_outbox_table('Sales_', 'public');
