-- The reconciler's own bookkeeping starts here; each later feature adds its tables in its
-- own numbered file. Every table name starts with reconciler_ (docs/contracts.md §2).
COMMENT ON TABLE reconciler_schema_migrations IS 'migrations applied by scripts/migrate.sh';
