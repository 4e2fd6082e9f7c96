-- Workflows as data (issue 23): workflow versions registered over the API (RegisterWorkflow)
-- as a definition in JSON instead of compiled in. Each row is one version of a workflow whose
-- steps row (workflow_versions) was compiled from it; every replica compiles the definition
-- into its registry at start and when NOTIFY orch_workflow_definitions names a new one, and
-- then adds its replica_workflow_versions row, so the claim gives it the version's processes.
-- A version is never changed: an identical definition keeps its version, a changed one gets
-- the next (docs/WORKFLOWS-AS-DATA.md).
CREATE TABLE workflow_definitions (
    workflow_id   uuid NOT NULL,
    version       integer NOT NULL CHECK (version >= 1),
    -- The definition as registered, canonical (keys sorted), and the FNV-1a digest of its text.
    definition    jsonb NOT NULL CHECK (jsonb_typeof(definition) = 'object'),
    digest        text NOT NULL CHECK (length(digest) BETWEEN 1 AND 64),
    registered_by text NOT NULL DEFAULT '' CHECK (length(registered_by) <= 255),
    register_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, version),
    FOREIGN KEY (workflow_id, version) REFERENCES workflow_versions ON DELETE CASCADE
);
COMMENT ON TABLE workflow_definitions IS
    'Workflow versions registered as data (RegisterWorkflow): the definition each replica compiles.';

-- Tells every replica "<name>:<version>" of a new definition, at commit.
CREATE FUNCTION orch_workflow_definitions_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_workflow_definitions',
                      (SELECT name FROM workflows WHERE workflow_id = NEW.workflow_id) || ':' ||
                      NEW.version);
    RETURN NULL;
END $$;
CREATE TRIGGER workflow_definitions_notify AFTER INSERT ON workflow_definitions
    FOR EACH ROW EXECUTE FUNCTION orch_workflow_definitions_notify();
