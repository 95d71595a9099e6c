# The integration tests that the `cluster` runs (FIELDWORK_TEST_REDIS=cluster: the harness's Redis
# is a 3-master, 3-replica Redis Cluster) leave out, each with the reason. Only tests that need
# one redis-server by their nature belong here; a test that fails on a cluster for any other
# reason is a defect to fix, not to list. Patterns are GoogleTest filters (Suite.Test, Suite.*).
set(FIELDWORK_CLUSTER_EXCLUDED)
