package proto

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var (
	// ErrUnsupportedType means a value of a type the codec cannot carry and
	// no codec is registered for.
	ErrUnsupportedType = errors.New("unsupported type; register a codec with proto.RegisterCodec")
	// ErrUnknownCodec means a custom value whose codec is not registered in
	// this binary.
	ErrUnknownCodec = errors.New("no codec registered under this name")
	// ErrUnknownMessageType means a proto.Message value whose type is not
	// linked into this binary.
	ErrUnknownMessageType = errors.New("message type not linked into this binary")
	// ErrTimeOutOfRange means a time.Time outside the years 1 to 9999, the
	// range of google.protobuf.Timestamp.
	ErrTimeOutOfRange = errors.New("time outside the years 1 to 9999 that a protobuf Timestamp carries")
	// ErrMalformedValue means a Value that EncodeValue never produces: no
	// kind set, null set to false, or an invalid Timestamp.
	ErrMalformedValue = errors.New("malformed value")
	// ErrDuplicateCodec means RegisterCodec was called twice for one name or type.
	ErrDuplicateCodec = errors.New("codec already registered")
)

// ValueError is a value that could not be encoded or decoded. Type names
// the Go type, the codec or the message type.
type ValueError struct {
	Type string
	Err  error
}

func (e *ValueError) Error() string { return fmt.Sprintf("value of type %s: %v", e.Type, e.Err) }

func (e *ValueError) Unwrap() error { return e.Err }

// customCodec encodes and decodes one registered type.
type customCodec struct {
	name   string
	encode func(any) ([]byte, error)
	decode func([]byte) (any, error)
}

// codecRegistry is replaced whole on registration, so lookups on the emit
// path read it without a lock.
type codecRegistry struct {
	byType map[reflect.Type]*customCodec
	byName map[string]*customCodec
}

var (
	registry   atomic.Pointer[codecRegistry]
	registerMu sync.Mutex
)

func init() {
	registry.Store(&codecRegistry{byType: map[reflect.Type]*customCodec{}, byName: map[string]*customCodec{}})
}

// builtinTypes are carried by EncodeValue itself; a codec for one of them
// would never be used.
var builtinTypes = map[reflect.Type]bool{
	reflect.TypeFor[string]():    true,
	reflect.TypeFor[int64]():     true,
	reflect.TypeFor[int]():       true,
	reflect.TypeFor[float64]():   true,
	reflect.TypeFor[bool]():      true,
	reflect.TypeFor[[]byte]():    true,
	reflect.TypeFor[time.Time](): true,
}

// RegisterCodec registers a codec for values of type T under a name that
// travels with each value. Every node that may receive such values must
// register the same name for the same type. T must be a concrete type that
// the codec does not already carry (not an interface, a built-in type or a
// proto.Message). It is safe to call concurrently with encoding; a panic in
// encode or decode becomes an error naming the codec.
func RegisterCodec[T any](name string, encode func(T) ([]byte, error), decode func([]byte) (T, error)) error {
	typ := reflect.TypeFor[T]()
	if name == "" {
		return fmt.Errorf("proto.RegisterCodec for type %s: empty codec name", typ)
	}
	if encode == nil || decode == nil {
		return fmt.Errorf("proto.RegisterCodec %q: nil encode or decode", name)
	}
	switch {
	case typ.Kind() == reflect.Interface:
		return fmt.Errorf("proto.RegisterCodec %q: type %s is an interface; register a concrete type", name, typ)
	case builtinTypes[typ]:
		return fmt.Errorf("proto.RegisterCodec %q: type %s is carried without a codec", name, typ)
	case typ.Implements(reflect.TypeFor[gproto.Message]()):
		return fmt.Errorf("proto.RegisterCodec %q: type %s is a proto.Message, carried without a codec", name, typ)
	}
	registerMu.Lock()
	defer registerMu.Unlock()
	old := registry.Load()
	if _, ok := old.byName[name]; ok {
		return fmt.Errorf("proto.RegisterCodec %q: %w (name)", name, ErrDuplicateCodec)
	}
	if c, ok := old.byType[typ]; ok {
		return fmt.Errorf("proto.RegisterCodec %q: %w for type %s (as %q)", name, ErrDuplicateCodec, typ, c.name)
	}
	c := &customCodec{
		name: name,
		encode: func(v any) (data []byte, err error) {
			defer recoverCodec(name, "encode", &err)
			return encode(v.(T))
		},
		decode: func(b []byte) (v any, err error) {
			defer recoverCodec(name, "decode", &err)
			return decode(b)
		},
	}
	next := &codecRegistry{byType: make(map[reflect.Type]*customCodec, len(old.byType)+1), byName: make(map[string]*customCodec, len(old.byName)+1)}
	for k, v := range old.byType {
		next.byType[k] = v
	}
	for k, v := range old.byName {
		next.byName[k] = v
	}
	next.byType[typ], next.byName[name] = c, c
	registry.Store(next)
	return nil
}

// recoverCodec turns a panic in a user's codec into an error: decode runs
// on bytes from another node, which must not crash this one.
func recoverCodec(name, op string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("codec %q panicked in %s: %v", name, op, r)
	}
}

// Timestamp's range in Unix seconds: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59Z. Other languages cannot read times outside it.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

func checkTime(t time.Time) error {
	if s := t.Unix(); s < minTimestampSeconds || s > maxTimestampSeconds {
		return &ValueError{Type: "time.Time", Err: fmt.Errorf("%v: %w", t, ErrTimeOutOfRange)}
	}
	return nil
}

// CheckValue reports whether v can be encoded. It does not allocate for the
// built-in types; the runtime calls it for every emitted value, so the
// commonest kinds pass inline, without a call (the call that handles every
// kind was a twentieth of a topology's time, two calls a tuple).
func CheckValue(v any) error {
	switch v.(type) {
	case string, int64, float64:
		return nil
	}
	return checkValue(v)
}

func checkValue(v any) error {
	switch x := v.(type) {
	case nil, string, int64, int, float64, bool, []byte, gproto.Message:
		return nil
	case time.Time:
		return checkTime(x)
	}
	if _, ok := registry.Load().byType[reflect.TypeOf(v)]; ok {
		return nil
	}
	return &ValueError{Type: fmt.Sprintf("%T", v), Err: ErrUnsupportedType}
}

// EncodeValue turns a tuple field value into a Value.
func EncodeValue(v any) (*Value, error) {
	switch x := v.(type) {
	case nil:
		return &Value{Kind: &Value_Null{Null: true}}, nil
	case string:
		return &Value{Kind: &Value_StringValue{StringValue: []byte(x)}}, nil
	case int64:
		return &Value{Kind: &Value_IntValue{IntValue: x}}, nil
	case int:
		return &Value{Kind: &Value_IntValue{IntValue: int64(x)}}, nil
	case float64:
		return &Value{Kind: &Value_DoubleValue{DoubleValue: x}}, nil
	case bool:
		return &Value{Kind: &Value_BoolValue{BoolValue: x}}, nil
	case []byte:
		return &Value{Kind: &Value_BytesValue{BytesValue: x}}, nil
	case time.Time:
		if err := checkTime(x); err != nil {
			return nil, err
		}
		return &Value{Kind: &Value_TimeValue{TimeValue: timestamppb.New(x)}}, nil
	case gproto.Message:
		a, err := anypb.New(x)
		if err != nil {
			return nil, &ValueError{Type: fmt.Sprintf("%T", v), Err: err}
		}
		return &Value{Kind: &Value_MessageValue{MessageValue: a}}, nil
	}
	c, ok := registry.Load().byType[reflect.TypeOf(v)]
	if !ok {
		return nil, &ValueError{Type: fmt.Sprintf("%T", v), Err: ErrUnsupportedType}
	}
	data, err := c.encode(v)
	if err != nil {
		return nil, &ValueError{Type: fmt.Sprintf("%T (codec %q)", v, c.name), Err: err}
	}
	return &Value{Kind: &Value_CustomValue{CustomValue: &Custom{Codec: c.name, Data: data}}}, nil
}

// DecodeValue turns a Value back into a tuple field value. It is strict:
// anything EncodeValue would not have produced is ErrMalformedValue.
func DecodeValue(v *Value) (any, error) {
	switch k := v.GetKind().(type) {
	case *Value_Null:
		if !k.Null {
			return nil, &ValueError{Type: "null", Err: fmt.Errorf("%w: null is false", ErrMalformedValue)}
		}
		return nil, nil
	case *Value_StringValue:
		return string(k.StringValue), nil
	case *Value_IntValue:
		return k.IntValue, nil
	case *Value_DoubleValue:
		return k.DoubleValue, nil
	case *Value_BoolValue:
		return k.BoolValue, nil
	case *Value_BytesValue:
		if k.BytesValue == nil {
			return []byte{}, nil
		}
		return k.BytesValue, nil
	case *Value_TimeValue:
		if err := k.TimeValue.CheckValid(); err != nil {
			return nil, &ValueError{Type: "time.Time", Err: fmt.Errorf("%w: %v", ErrMalformedValue, err)}
		}
		return k.TimeValue.AsTime(), nil
	case *Value_MessageValue:
		m, err := k.MessageValue.UnmarshalNew()
		if errors.Is(err, protoregistry.NotFound) {
			err = ErrUnknownMessageType
		}
		if err != nil {
			return nil, &ValueError{Type: fmt.Sprintf("message %q", k.MessageValue.GetTypeUrl()), Err: err}
		}
		return m, nil
	case *Value_CustomValue:
		name := k.CustomValue.GetCodec()
		c, ok := registry.Load().byName[name]
		if !ok {
			return nil, &ValueError{Type: fmt.Sprintf("custom %q", name), Err: ErrUnknownCodec}
		}
		x, err := c.decode(k.CustomValue.GetData())
		if err != nil {
			return nil, &ValueError{Type: fmt.Sprintf("custom %q", name), Err: err}
		}
		return x, nil
	}
	return nil, &ValueError{Type: "<none>", Err: fmt.Errorf("%w: no kind set", ErrMalformedValue)}
}

// EncodeValues encodes a tuple's values; the error names the position.
func EncodeValues(vals []any) ([]*Value, error) {
	out := make([]*Value, len(vals))
	for i, v := range vals {
		e, err := EncodeValue(v)
		if err != nil {
			return nil, fmt.Errorf("value %d: %w", i, err)
		}
		out[i] = e
	}
	return out, nil
}

// DecodeValues decodes a tuple's values; the error names the position.
func DecodeValues(vals []*Value) ([]any, error) {
	out := make([]any, len(vals))
	for i, v := range vals {
		d, err := DecodeValue(v)
		if err != nil {
			return nil, fmt.Errorf("value %d: %w", i, err)
		}
		out[i] = d
	}
	return out, nil
}
