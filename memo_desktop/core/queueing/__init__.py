"""Queue bookkeeping kept in Redis beside rq's own keys: what rq has no notion of (count-based retention, ...).

It sits below both `jobs` (the client) and `workers` (the thread worker): neither imports the other through it.
"""
