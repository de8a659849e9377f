package topology

// DefaultStream is the stream a component emits to when it names none.
const DefaultStream = "default"

// Fields names the values of the tuples on one stream, in order.
type Fields []string

// NewFields is a convenience for Fields{names...}.
func NewFields(names ...string) Fields { return Fields(names) }

// Index returns the position of the named field, or -1 when there is none.
// Streams have a handful of fields, so a scan beats a map here.
func (f Fields) Index(name string) int {
	for i, n := range f {
		if n == name {
			return i
		}
	}
	return -1
}

// Contains reports whether the named field is declared.
func (f Fields) Contains(name string) bool { return f.Index(name) >= 0 }

// Values are the values of one tuple, in the order of its stream's Fields.
//
// A value that may cross to another node must be one of: string, int64, int,
// float64, bool, []byte, time.Time, a proto.Message, or a type with a codec
// registered in package proto. Emitting anything else is an error at emit time.
type Values []any
