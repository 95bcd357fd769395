package event

// Kafka record headers written by the load generator and read by the pipeline.
const (
	HeaderEventID  = "vs-event-id"    // the event's id, present even when the body is malformed
	HeaderIntended = "vs-intended-ns" // intended send time, Unix nanoseconds
	HeaderSent     = "vs-sent-ns"     // actual send time, Unix nanoseconds
)

// Headers the pipeline adds to a dead letter, beside the original ones.
const (
	HeaderDLQReason    = "dlq-reason"           // the Reason the validator gave
	HeaderDLQField     = "dlq-field"            // the Rejection's Field ("" for the document as a whole)
	HeaderDLQDetail    = "dlq-detail"           // the Rejection's Detail
	HeaderDLQTopic     = "dlq-source-topic"     // the topic the record was consumed from
	HeaderDLQPartition = "dlq-source-partition" // its partition there, decimal
	HeaderDLQOffset    = "dlq-source-offset"    // its offset there, decimal
)

// HeaderDLQReplayedFrom is added to a record re-injected from the dead-letter topic
// (`vectorstream dlq replay`): the dead letter it came from, as
// "<dlq topic>/<partition>/<offset>".
const HeaderDLQReplayedFrom = "dlq-replayed-from"
