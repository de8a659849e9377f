package kafka

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/zkstore"
)

// offsetStore keeps one spout's offsets. Calls come from the spout task's
// manager goroutine only.
type offsetStore interface {
	load(topic string, partition int32) (zkstore.SpoutOffset, bool, error)
	save(offsets []zkstore.SpoutOffset) error
	close()
}

// openStore connects the configured store. client is the spout's Kafka
// client, which the Kafka group store commits through; log is the task's,
// which ZooKeeper's connection trouble goes to unless its options name a
// logger.
func openStore(o OffsetStorage, topo, spout string, client sarama.Client, log *slog.Logger) (offsetStore, error) {
	switch {
	case o.ZooKeeper != nil:
		zk := *o.ZooKeeper
		if zk.Logger == nil {
			zk.Logger = log
		}
		zo, err := zkstore.OpenOffsets(zk)
		if err != nil {
			return nil, err
		}
		return &zkStore{o: zo, topo: topo, spout: spout}, nil
	case o.KafkaGroup != "":
		return &groupStore{group: o.KafkaGroup, client: client}, nil
	default:
		return &fileStore{path: o.File, prefix: topo + "/" + spout + "/"}, nil
	}
}

// zkStore keeps offsets in ZooKeeper, where `squall offsets` finds them.
type zkStore struct {
	o     *zkstore.Offsets
	topo  string
	spout string
}

func (s *zkStore) load(topic string, partition int32) (zkstore.SpoutOffset, bool, error) {
	return s.o.Get(s.topo, s.spout, topic, partition)
}

func (s *zkStore) save(offsets []zkstore.SpoutOffset) error { return s.o.Put(s.topo, offsets) }

func (s *zkStore) close() { s.o.Close() }

// groupStore keeps offsets as a consumer group's committed offsets, with
// the time, task and run in the commit's metadata. It talks to the group's
// coordinator directly: the spout's tasks split the partitions themselves,
// so no group membership (and no rebalancing) is involved.
type groupStore struct {
	group  string
	client sarama.Client
}

type groupMetadata struct {
	Time time.Time `json:"time"`
	Task int       `json:"task"`
	Run  string    `json:"run,omitempty"`
}

func (s *groupStore) coordinator() (*sarama.Broker, error) {
	b, err := s.client.Coordinator(s.group)
	if err != nil {
		return nil, fmt.Errorf("coordinator of group %q: %w", s.group, err)
	}
	return b, nil
}

func (s *groupStore) load(topic string, partition int32) (zkstore.SpoutOffset, bool, error) {
	so := zkstore.SpoutOffset{Topic: topic, Partition: partition}
	b, err := s.coordinator()
	if err != nil {
		return so, false, err
	}
	req := sarama.NewOffsetFetchRequest(s.client.Config().Version, s.group, map[string][]int32{topic: {partition}})
	resp, err := b.FetchOffset(req)
	if err != nil {
		_ = s.client.RefreshCoordinator(s.group)
		return so, false, fmt.Errorf("offsets of group %q: %w", s.group, err)
	}
	if kerr := resp.GroupError(); kerr == sarama.ErrGroupIDNotFound {
		return so, false, nil // nothing committed yet
	} else if kerr != sarama.ErrNoError {
		return so, false, fmt.Errorf("offsets of group %q: %w", s.group, kerr)
	}
	block := resp.GetBlock(topic, partition)
	if block == nil {
		return so, false, nil
	}
	if block.Err != sarama.ErrNoError {
		return so, false, fmt.Errorf("offsets of group %q, %s/%d: %w", s.group, topic, partition, block.Err)
	}
	if block.Offset < 0 {
		return so, false, nil
	}
	so.Offset = block.Offset
	var m groupMetadata
	if json.Unmarshal([]byte(block.Metadata), &m) == nil {
		so.Time, so.Task, so.Run = m.Time, m.Task, m.Run
	} else {
		so.Task = zkstore.OperatorTask // committed by another tool
	}
	return so, true, nil
}

func (s *groupStore) save(offsets []zkstore.SpoutOffset) error {
	b, err := s.coordinator()
	if err != nil {
		return err
	}
	req := sarama.NewOffsetCommitRequest(s.client.Config(), s.group)
	for _, so := range offsets {
		meta, _ := json.Marshal(groupMetadata{Time: so.Time, Task: so.Task, Run: so.Run})
		req.AddBlock(so.Topic, so.Partition, so.Offset, 0, string(meta))
	}
	resp, err := b.CommitOffset(req)
	if err != nil {
		_ = s.client.RefreshCoordinator(s.group)
		return fmt.Errorf("commit offsets of group %q: %w", s.group, err)
	}
	for topic, parts := range resp.Errors {
		for p, kerr := range parts {
			if kerr != sarama.ErrNoError {
				return fmt.Errorf("commit offsets of group %q, %s/%d: %w", s.group, topic, p, kerr)
			}
		}
	}
	return nil
}

func (s *groupStore) close() {}

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

func (s *fileStore) read() (map[string]zkstore.SpoutOffset, error) {
	m := map[string]zkstore.SpoutOffset{}
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

func (s *fileStore) load(topic string, partition int32) (zkstore.SpoutOffset, bool, error) {
	defer s.lock()()
	m, err := s.read()
	if err != nil {
		return zkstore.SpoutOffset{}, false, err
	}
	so, ok := m[s.key(topic, partition)]
	so.Topic, so.Partition = topic, partition
	return so, ok, nil
}

func (s *fileStore) save(offsets []zkstore.SpoutOffset) error {
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
