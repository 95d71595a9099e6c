# The integration tests that the `cluster` runs (FIELDWORK_TEST_REDIS=cluster: the harness's Redis
# is a 3-master, 3-replica Redis Cluster) leave out, each with the reason. Only tests that need
# one redis-server by their nature belong here; a test that fails on a cluster for any other
# reason is a defect to fix, not to list. Patterns are GoogleTest filters (Suite.Test, Suite.*),
# applied to every binary registered with fieldwork_cc_test(... CLUSTER).
set(FIELDWORK_CLUSTER_EXCLUDED
    # Restores an older copy of the one server's append-only file (RedisServer::dir()) to stage
    # a rollback; a cluster's AOFs are per node, and a rollback there is a different scenario.
    RandomisationTest.AnchorsDetectARolledBackOrRewrittenLogTheChainAloneCannot
    # CI time, not a single-node need: the slowest cluster run (about a minute) measures the
    # memory of streaming 200,000 responses, through the same store reads (HSCAN, HMGET) that
    # the other survey-ingest tests run on the cluster in seconds.
    IngestTest.ListResponsesStreamsAWaveOf200000InBoundedMemory
)
