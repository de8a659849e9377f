package kafka

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/cluster"
)

// StoredOffset is one partition's stored position.
type StoredOffset = cluster.SpoutOffset

// offsetStore keeps one spout's offsets. Calls come from the spout task's
// manager goroutine only.
type offsetStore interface {
	load(topic string, partition int32) (StoredOffset, bool, error)
	save(offsets []StoredOffset) error
	close()
}

// openStore connects the configured store. client is the spout's Kafka
// client, which the Kafka group store commits through.
func openStore(o OffsetStorage, topo, spout string, client sarama.Client) (offsetStore, error) {
	switch {
	case o.ZooKeeper != nil:
		zo, err := cluster.OpenOffsets(*o.ZooKeeper)
		if err != nil {
			return nil, err
		}
		return &zkStore{o: zo, topo: topo, spout: spout}, nil
	case o.KafkaGroup != "":
		om, err := sarama.NewOffsetManagerFromClient(o.KafkaGroup, client)
		if err != nil {
			return nil, fmt.Errorf("offsets of group %q: %w", o.KafkaGroup, err)
		}
		return &groupStore{group: o.KafkaGroup, om: om, poms: map[partitionKey]sarama.PartitionOffsetManager{}}, nil
	default:
		return &fileStore{path: o.File, prefix: topo + "/" + spout + "/"}, nil
	}
}

// zkStore keeps offsets in ZooKeeper, where `squall offsets` finds them.
type zkStore struct {
	o     *cluster.Offsets
	topo  string
	spout string
}

func (s *zkStore) load(topic string, partition int32) (StoredOffset, bool, error) {
	return s.o.Get(s.topo, s.spout, topic, partition)
}

func (s *zkStore) save(offsets []StoredOffset) error { return s.o.Put(s.topo, offsets) }

func (s *zkStore) close() { s.o.Close() }

// groupStore keeps offsets as a consumer group's committed offsets, with
// the time, task and run in the commit's metadata.
type groupStore struct {
	group string
	om    sarama.OffsetManager
	poms  map[partitionKey]sarama.PartitionOffsetManager
}

type groupMetadata struct {
	Time time.Time `json:"time"`
	Task int       `json:"task"`
	Run  string    `json:"run,omitempty"`
}

func (s *groupStore) pom(topic string, partition int32) (sarama.PartitionOffsetManager, error) {
	k := partitionKey{topic, partition}
	if p, ok := s.poms[k]; ok {
		return p, nil
	}
	p, err := s.om.ManagePartition(topic, partition)
	if err != nil {
		return nil, fmt.Errorf("offsets of group %q, %s/%d: %w", s.group, topic, partition, err)
	}
	s.poms[k] = p
	return p, nil
}

func (s *groupStore) load(topic string, partition int32) (StoredOffset, bool, error) {
	so := StoredOffset{Topic: topic, Partition: partition}
	p, err := s.pom(topic, partition)
	if err != nil {
		return so, false, err
	}
	off, meta := p.NextOffset()
	if off < 0 {
		return so, false, nil
	}
	so.Offset = off
	var m groupMetadata
	if json.Unmarshal([]byte(meta), &m) == nil {
		so.Time, so.Task, so.Run = m.Time, m.Task, m.Run
	} else {
		so.Task = -1 // committed by another tool: an operator's choice
	}
	return so, true, nil
}

func (s *groupStore) save(offsets []StoredOffset) error {
	for _, so := range offsets {
		p, err := s.pom(so.Topic, so.Partition)
		if err != nil {
			return err
		}
		meta, _ := json.Marshal(groupMetadata{Time: so.Time, Task: so.Task, Run: so.Run})
		p.ResetOffset(so.Offset, string(meta))
	}
	s.om.Commit()
	for _, p := range s.poms {
		select {
		case err := <-p.Errors():
			return fmt.Errorf("commit offsets of group %q: %w", s.group, err)
		default:
		}
	}
	return nil
}

func (s *groupStore) close() {
	for _, p := range s.poms {
		p.AsyncClose()
	}
	s.om.Close()
}

// fileStore keeps offsets in a JSON file shared by the spouts of one
// process, keyed "topology/spout/topic/partition".
type fileStore struct {
	path   string
	prefix string
}

// fileStores serializes the read-modify-write of each offsets file among
// the spout tasks of this process.
var fileStores sync.Map // path → *sync.Mutex

func (s *fileStore) lock() func() {
	mu, _ := fileStores.LoadOrStore(s.path, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}

func (s *fileStore) read() (map[string]StoredOffset, error) {
	m := map[string]StoredOffset{}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read offsets file: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("offsets file %s: %w", s.path, err)
	}
	return m, nil
}

func (s *fileStore) key(topic string, partition int32) string {
	return s.prefix + topic + "/" + strconv.Itoa(int(partition))
}

func (s *fileStore) load(topic string, partition int32) (StoredOffset, bool, error) {
	defer s.lock()()
	m, err := s.read()
	if err != nil {
		return StoredOffset{}, false, err
	}
	so, ok := m[s.key(topic, partition)]
	so.Topic, so.Partition = topic, partition
	return so, ok, nil
}

func (s *fileStore) save(offsets []StoredOffset) error {
	defer s.lock()()
	m, err := s.read()
	if err != nil {
		return err
	}
	for _, so := range offsets {
		m[s.key(so.Topic, so.Partition)] = so
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode offsets: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("offsets file directory: %w", err)
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write offsets file: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("replace offsets file %s: %w", s.path, err)
	}
	return nil
}

func (s *fileStore) close() {}
