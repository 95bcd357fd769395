// Package spool is the pipeline's local backup for batches that exhausted their
// retries: an append-only, checksummed file of opaque payloads, each with the Kafka
// offsets it covers. Append returns only once the record is on disk (fsync), so the
// pipeline may commit those offsets; Replay hands the records back in order and
// remembers durably how far it got. The package does not know what a payload holds
// (the pipeline's spooled batches), does not talk to Kafka or Qdrant, and does not log.
//
// # Files
//
// A spool is a directory (Open creates it) holding:
//
//	LOCK                       flock(2)ed by the one process using the spool; holds "pid=… host=… since=…"
//	spool.log                  the segment: a header, then records (absent when nothing is pending)
//	cursor                     where replay resumes in spool.log (absent: from the first record)
//	spool.log.corrupt-<time>   a damaged segment moved aside by Quarantine
//
// All integers are big-endian; CRC is CRC-32C (Castagnoli).
//
//	segment header, 20 bytes
//	  0  magic    "VSSG"
//	  4  version  uint16 = 1
//	  6  flags    uint16 = 0
//	  8  segment  uint64, random, new for every segment
//	 16  crc      uint32 over bytes 0–15
//
//	record = 16-byte header + body
//	  0  magic    "VSRC"
//	  4  version  uint8 = 1
//	  5  reserved 3 bytes, zero
//	  8  length   uint32, body bytes
//	 12  crc      uint32 over header bytes 0–11 followed by the body
//	 16  body:    count uint32, then count × (topic length uint16, topic, partition int32,
//	              offset int64), then the payload (the rest of the body)
//
//	cursor, 28 bytes, replaced atomically (write cursor.tmp, fsync, rename, fsync dir)
//	  0  magic    "VSCU"
//	  4  version  uint16 = 1
//	  6  flags    uint16 = 0
//	  8  segment  uint64, the segment it belongs to (a cursor of another segment is stale)
//	 16  offset   uint64, byte offset of the next record to replay
//	 24  crc      uint32 over bytes 0–23
//
// # Durability
//
// Append writes one record at the end of the segment and fsyncs the file (and the
// directory when it created the segment) before it returns; a failed write is cut
// off again, and after a failed fsync the spool refuses further appends, since the
// kernel may have dropped the data. Replay calls fn for one record at a time and
// moves the cursor past it only after fn returned nil, so a crash re-replays at most
// the record in hand and never skips one (replayed writes must be idempotent, which
// Qdrant upserts by point id are). When replay reaches the end, the segment and the
// cursor are removed and Pending is 0.
//
// # Damage
//
// Open checks every pending record. A record cut short by the end of the file (a
// torn tail, what a crash inside Append leaves) or whose magic, version, length or
// checksum is wrong makes Open fail with a *CorruptError naming the file and the
// byte offset; Replay reports damage it finds the same way, after replaying the good
// records before it, and never passes a damaged record to fn. Nothing is repaired
// silently: Quarantine (or the Spool method of that name) keeps every record that
// still verifies — those before the damage and those found after it by scanning for
// the next valid record — in a fresh segment, moves the damaged file aside as
// spool.log.corrupt-<time> and reports the byte ranges it could not read.
package spool
