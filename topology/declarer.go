package topology

// StreamDef is a declared output stream.
type StreamDef struct {
	ID     string
	Fields Fields
	// Direct streams are sent with EmitDirect and subscribed to with
	// DirectGrouping; other streams are routed by their subscribers' groupings.
	Direct bool
}

// OutputDeclarer collects the streams a component declares in
// DeclareOutputFields.
type OutputDeclarer struct {
	streams map[string]StreamDef
	order   []string
	dups    []string
}

// Declare declares the default stream.
func (d *OutputDeclarer) Declare(fields Fields) { d.declare(DefaultStream, fields, false) }

// DeclareStream declares a named stream.
func (d *OutputDeclarer) DeclareStream(stream string, fields Fields) {
	d.declare(stream, fields, false)
}

// DeclareDirectStream declares a named stream sent with EmitDirect.
func (d *OutputDeclarer) DeclareDirectStream(stream string, fields Fields) {
	d.declare(stream, fields, true)
}

func (d *OutputDeclarer) declare(stream string, fields Fields, direct bool) {
	if d.streams == nil {
		d.streams = make(map[string]StreamDef)
	}
	if _, ok := d.streams[stream]; ok {
		d.dups = append(d.dups, stream)
		return
	}
	d.streams[stream] = StreamDef{ID: stream, Fields: append(Fields(nil), fields...), Direct: direct}
	d.order = append(d.order, stream)
}
