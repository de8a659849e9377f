package cluster

import (
	"sync"

	"github.com/go-zookeeper/zk"
)

// watches arms a node's one-shot ZooKeeper watches, each of which pokes
// changed when it fires. A path is watched at most once at a time, so
// repeated reconciles do not pile up goroutines.
type watches struct {
	conn    *zk.Conn
	changed chan<- struct{}

	mu    sync.Mutex
	armed map[string]bool
}

func newWatches(conn *zk.Conn, changed chan<- struct{}) *watches {
	return &watches{conn: conn, changed: changed, armed: map[string]bool{}}
}

// arm watches a znode's data, or its children when children is true.
func (w *watches) arm(p string, children bool) {
	key := p
	if children {
		key += "/*"
	}
	w.mu.Lock()
	if w.armed[key] {
		w.mu.Unlock()
		return
	}
	w.armed[key] = true
	w.mu.Unlock()
	var ch <-chan zk.Event
	var err error
	if children {
		_, _, ch, err = w.conn.ChildrenW(p)
	} else {
		_, _, ch, err = w.conn.ExistsW(p)
	}
	if err != nil {
		w.mu.Lock()
		delete(w.armed, key)
		w.mu.Unlock()
		return
	}
	go func() {
		<-ch
		w.mu.Lock()
		delete(w.armed, key)
		w.mu.Unlock()
		poke(w.changed)
	}()
}

// poke signals a coalescing channel without blocking.
func poke(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
