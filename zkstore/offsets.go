package zkstore

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/squall-stream/squall/topology"
)

// SpoutOffset is one partition's stored position for a Kafka spout, kept in
// ZooKeeper at <root>/offsets/<topology>/<spout>/<topic>/<partition>.
type SpoutOffset struct {
	Spout     string `json:"-"`
	Topic     string `json:"-"`
	Partition int32  `json:"-"`
	// Offset is the next message to process: every message below it was
	// processed (acked, or dead-lettered).
	Offset int64 `json:"offset"`
	// Time is when the offset was written.
	Time time.Time `json:"time"`
	// Task is the spout task that wrote it; OperatorTask for an offset an
	// operator set (`squall offsets set`, or another tool's commit).
	Task int `json:"task"`
	// Run is the deployment (topology.Config.RunID) that wrote it.
	Run string `json:"run,omitempty"`
}

// OperatorTask is SpoutOffset.Task of an offset no spout task wrote: an
// operator's choice, which a spout takes up whatever its first-poll strategy.
const OperatorTask = -1

// Offsets reads and writes the Kafka spouts' stored offsets. Its methods are
// safe for concurrent use; writes survive a ZooKeeper session loss (the
// znodes are persistent and go-zookeeper reconnects), so a caller retries a
// failed write later.
type Offsets struct {
	s *Session
}

// OpenOffsets connects to ZooKeeper. It fails with ErrNoZooKeeper when no
// server gives a session within the session timeout, and with auth, with
// ErrOpenACL while others can change the root or its offsets folder. Only
// those two are checked, not every offset as a node does at its start: each
// spout task opens its own.
func OpenOffsets(opts Options) (*Offsets, error) {
	s, err := dial(opts)
	if err != nil {
		return nil, err
	}
	if err := s.verifyACLs(false, s.l.root, s.l.Dir(offsetsDir)); err != nil {
		s.Close()
		return nil, err
	}
	return &Offsets{s: s}, nil
}

// Close ends the ZooKeeper session.
func (o *Offsets) Close() { o.s.Close() }

// Session is the session the offsets are read and written through, for
// reading what lies beside them (`squall offsets set` reads the topology's
// status).
func (o *Offsets) Session() *Session { return o.s }

func (o *Offsets) partitionPath(topology string, so SpoutOffset) (string, error) {
	return o.s.l.offsets(topology, so.Spout, so.Topic, strconv.Itoa(int(so.Partition)))
}

// Get returns the stored offset of one partition; ok is false when none is.
func (o *Offsets) Get(topology, spout, topic string, partition int32) (so SpoutOffset, ok bool, err error) {
	so = SpoutOffset{Spout: spout, Topic: topic, Partition: partition}
	p, err := o.partitionPath(topology, so)
	if err == nil {
		_, ok, err = o.s.GetJSON(p, &so)
	}
	if err != nil {
		return so, false, fmt.Errorf("stored offset of %s/%s partition %d: %w", spout, topic, partition, err)
	}
	return so, ok, nil
}

// Put stores offsets, creating the parents as needed.
func (o *Offsets) Put(topology string, offsets []SpoutOffset) error {
	for _, so := range offsets {
		p, err := o.partitionPath(topology, so)
		if err == nil {
			err = o.s.PutJSON(p, so)
		}
		if errors.Is(err, zk.ErrNoNode) {
			if err = o.ensureParents(p); err == nil {
				err = o.s.PutJSON(p, so)
			}
		}
		if err != nil {
			return fmt.Errorf("store offset of %s/%s partition %d: %w", so.Spout, so.Topic, so.Partition, err)
		}
	}
	return nil
}

func (o *Offsets) ensureParents(p string) error {
	var parents []string
	for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
		parents = append(parents, d)
	}
	for i := len(parents) - 1; i >= 0; i-- {
		if _, err := o.s.conn.Create(parents[i], nil, 0, o.s.acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", parents[i], err)
		}
	}
	return nil
}

// List returns every stored offset of a topology, sorted by spout, topic
// and partition.
func (o *Offsets) List(topo string) ([]SpoutOffset, error) {
	root, err := o.s.l.offsets(topo)
	if err != nil {
		return nil, err
	}
	var out []SpoutOffset
	spouts, err := o.s.Children(root, topology.ComponentID)
	if err != nil {
		return nil, err
	}
	for _, spout := range spouts {
		sp, err := o.s.l.offsets(topo, spout)
		if err != nil {
			return nil, err
		}
		topics, err := o.s.Children(sp, kafkaTopic)
		if err != nil {
			return nil, err
		}
		for _, topic := range topics {
			tp, err := o.s.l.offsets(topo, spout, topic)
			if err != nil {
				return nil, err
			}
			parts, err := o.s.Children(tp, kafkaPartition)
			if err != nil {
				return nil, err
			}
			for _, ps := range parts {
				p, err := strconv.ParseInt(ps, 10, 32)
				if err != nil {
					continue // not a partition: left by something else
				}
				so, ok, err := o.Get(topo, spout, topic, int32(p))
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, so)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Spout != b.Spout {
			return a.Spout < b.Spout
		}
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	return out, nil
}
