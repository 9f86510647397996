"""Raw data to prepared tables: downloads (hub and http, pinned and checked), one streaming
loader per raw format, the prepare stage, and the texts every stage compares (the
embedded passage text, 128-bit hashes, the memory-mapped text store)."""
