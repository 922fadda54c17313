"""The archive: the SQLite system of record (`store`), the lock that keeps runs apart and
the atomic writes every output goes through (`locking`)."""
