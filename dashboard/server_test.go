package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/actors/promexport"
)

func get(t *testing.T, url string, v any) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	return resp
}

func TestTopologyAndPagesAndEvents(t *testing.T) {
	drawn := drawnTopology(t)
	tops := func(context.Context) ([]Topology, error) {
		return []Topology{{Name: "orders", Status: "active", Unreachable: []string{"node-3"}, TaskNodes: map[int]string{1: "node-1", 2: "node-2"}, Topology: drawn,
			Components: []actors.ComponentMetrics{{Component: "kafka", Spout: true,
				Tasks: []actors.TaskMetrics{{Task: 1, Acked: 4}, {Task: 2, Acked: 5}},
				TaskMetrics: actors.TaskMetrics{Emitted: 10, Acked: 9, Failed: 1, CompleteLatency: 3 * time.Millisecond,
					Errors: 1, LastError: "kafka: broker down", LastErrorAt: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC),
					Streams: []actors.StreamMetrics{{Stream: "default", Emitted: 10, Transferred: 20}}}}}}}, nil
	}
	prom := promexport.NewHandler(func() map[string][]actors.ComponentMetrics { return nil })
	// A page of the program's: its own handler, a document it reads, and
	// one whose source is down.
	var reads atomic.Int64
	shop := Page{Path: "/", Title: "Shop <&>",
		Handlers: map[string]http.Handler{"GET /{$}": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "the shop page") })},
		Feeds: []Feed{
			{Path: "/api/shop", Event: "shop", Read: func(context.Context) (any, error) { return map[string]int64{"reads": reads.Add(1)}, nil }},
			{Path: "/api/stock", Event: "stock", Read: func(context.Context) (any, error) { return nil, errors.New("stock database down") }},
		}}
	srv := httptest.NewServer(New(Options{Topologies: tops, Prometheus: prom, Pages: []Page{shop}, Every: 20 * time.Millisecond}).Handler())
	defer srv.Close()

	var v TopologiesView
	get(t, srv.URL+"/api/topologies", &v)
	if len(v.Topologies) != 1 || v.Error != "" {
		t.Fatalf("topologies: %+v", v)
	}
	if tv := v.Topologies[0]; tv.Name != "orders" || tv.Status != "active" || len(tv.Components) != 1 || !slices.Equal(tv.Unreachable, []string{"node-3"}) {
		t.Fatalf("topology: %+v", tv)
	}
	if e := v.Topologies[0].Edges; !slices.Equal(e, []EdgeView{{From: "kafka-orders", To: "aggregate-redis", Stream: "default", Grouping: "fields(province)"}}) {
		t.Fatalf("edges: %+v", e)
	}
	c := v.Topologies[0].Components[0]
	if c.Kind != "spout" || c.Tasks != 2 || c.Acked != 9 || c.CompleteLatency != 3 ||
		c.LastError != "kafka: broker down" || !c.LastErrorAt.Equal(time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("component: %+v", c)
	}
	if !slices.Equal(c.Streams, []StreamView{{Stream: "default", Emitted: 10, Transferred: 20}}) {
		t.Fatalf("streams: %+v", c.Streams)
	}
	if len(c.TaskList) != 2 || c.TaskList[1] != (TaskView{Task: 2, Node: "node-2", Figures: Figures{Acked: 5}}) {
		t.Fatalf("tasks: %+v", c.TaskList)
	}
	for path, want := range map[string]string{"/": "the shop page", "/topology": `<a href="/">Shop &lt;&amp;&gt;</a><a class="on" href="/topology">Topologies</a>`,
		"/static/app.js": "EventSource", "/static/style.css": "--accent", "/metrics": "go_goroutines"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
	if resp := get(t, srv.URL+"/nope", nil); resp.StatusCode != 404 {
		t.Fatalf("GET /nope: %d", resp.StatusCode)
	}

	var doc map[string]any
	if resp := get(t, srv.URL+"/api/shop", &doc); resp.StatusCode != http.StatusOK || doc["reads"] == nil {
		t.Fatalf("GET /api/shop: %d %v", resp.StatusCode, doc)
	}
	if resp := get(t, srv.URL+"/api/stock", &doc); resp.StatusCode != http.StatusBadGateway || doc["error"] != "stock database down" {
		t.Fatalf("GET /api/stock: %d %v, want 502 with the error", resp.StatusCode, doc)
	}

	// The events carry every feed, the one that fails as its error, and
	// read each anew.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	seen := map[string][]string{}
	sc := bufio.NewScanner(resp.Body)
	for event := ""; sc.Scan() && len(seen["shop"]) < 2; {
		if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			event = name
		}
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			seen[event] = append(seen[event], data)
		}
	}
	if len(seen["topologies"]) == 0 || len(seen["shop"]) < 2 || seen["shop"][0] == seen["shop"][1] {
		t.Fatalf("events seen: %v", seen)
	}
	if len(seen["stock"]) == 0 || seen["stock"][0] != `{"error":"stock database down"}` {
		t.Fatalf("the failing feed's events: %v", seen["stock"])
	}
}

// Without a page at /, / leads to the topology page, whose navigation
// names no other.
func TestWithoutPagesRootIsTheTopologyPage(t *testing.T) {
	srv := httptest.NewServer(New(Options{}).Handler())
	defer srv.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/topology" {
		t.Fatalf("GET /: %d to %q, want a redirect to /topology", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.Get(srv.URL + "/topology")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if want := `<nav><a class="on" href="/topology">Topologies</a></nav>`; !strings.Contains(string(body), want) {
		t.Fatalf("the topology page lacks %s:\n%s", want, body)
	}
}

// fakeActions records the topology actions it is asked for.
type fakeActions struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeActions) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return f.err
}

func (f *fakeActions) Activate(_ context.Context, name string) error {
	return f.record("activate " + name)
}
func (f *fakeActions) Deactivate(_ context.Context, name string) error {
	return f.record("deactivate " + name)
}
func (f *fakeActions) Kill(_ context.Context, name string, wait time.Duration) error {
	return f.record(fmt.Sprintf("kill %s %v", name, wait))
}

func (f *fakeActions) done() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func TestTopologyActions(t *testing.T) {
	host := ""
	post := func(url, contentType, origin, body string) (int, map[string]string) {
		t.Helper()
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	// Without Actions the page only shows: no buttons, no route.
	ro := httptest.NewServer(New(Options{}).Handler())
	defer ro.Close()
	var v TopologiesView
	get(t, ro.URL+"/api/topologies", &v)
	if v.Actions {
		t.Fatal("a dashboard without Actions offers them")
	}
	if code, _ := post(ro.URL+"/api/topologies/orders/kill", "application/json", "", "{}"); code != http.StatusMethodNotAllowed && code != http.StatusNotFound {
		t.Fatalf("kill on a read-only dashboard: %d", code)
	}

	fa := &fakeActions{}
	srv := httptest.NewServer(New(Options{Actions: fa, ActionHosts: []string{"squall.internal"}}).Handler())
	defer srv.Close()
	get(t, srv.URL+"/api/topologies", &v)
	if !v.Actions {
		t.Fatal("the view does not say actions are offered")
	}
	for _, c := range []struct {
		path, contentType, origin, body string
		code                            int
	}{
		{"/api/topologies/orders/deactivate", "application/json", "", "{}", http.StatusOK},
		{"/api/topologies/orders/activate", "application/json; charset=utf-8", srv.URL, "", http.StatusOK},
		{"/api/topologies/orders/kill", "application/json", srv.URL, `{"waitSeconds": 2.5}`, http.StatusOK},
		// A form from another site, or a script there: refused, nothing done.
		{"/api/topologies/orders/kill", "application/x-www-form-urlencoded", "", "waitSeconds=0", http.StatusUnsupportedMediaType},
		{"/api/topologies/orders/kill", "application/json", "http://evil.example", "{}", http.StatusForbidden},
		{"/api/topologies/orders/kill", "application/json", "", `{"waitSeconds": -1}`, http.StatusConflict},
		{"/api/topologies/orders/kill", "application/json", "", `{"waitSeconds": "soon"}`, http.StatusBadRequest},
		{"/api/topologies/orders/rebalance", "application/json", "", "{}", http.StatusNotFound},
	} {
		if code, body := post(srv.URL+c.path, c.contentType, c.origin, c.body); code != c.code {
			t.Errorf("POST %s (%s, origin %q, %s): %d %v, want %d", c.path, c.contentType, c.origin, c.body, code, body, c.code)
		}
	}
	// A name that is none, such as a path into ZooKeeper, is refused by
	// name before any action.
	for _, c := range []struct{ escaped, name string }{
		{"..%2Fnodes%2F127.0.0.3:27000", "../nodes/127.0.0.3:27000"},
		{"orders%2F..%2F..%2Fleader", "orders/../../leader"},
		{"%2E%2E", ".."},
		{"ord%D0%B5rs", "ordеrs"},
	} {
		code, body := post(srv.URL+"/api/topologies/"+c.escaped+"/kill", "application/json", "", "{}")
		if code != http.StatusBadRequest || !strings.Contains(body["error"], strconv.Quote(c.name)) {
			t.Errorf("kill %s: %d %v, want 400 naming %q", c.escaped, code, body, c.name)
		}
	}
	// A page on a site whose name was pointed at the dashboard (DNS
	// rebinding) is refused; a name the operator gave is not.
	host = "evil.example:8080"
	if code, body := post(srv.URL+"/api/topologies/orders/kill", "application/json", "http://evil.example:8080", "{}"); code != http.StatusForbidden {
		t.Fatalf("kill through a rebound name: %d %v", code, body)
	}
	host = "squall.internal:8080"
	if code, body := post(srv.URL+"/api/topologies/orders/deactivate", "application/json", "http://squall.internal:8080", "{}"); code != http.StatusOK {
		t.Fatalf("deactivate through an allowed name: %d %v", code, body)
	}
	host = ""
	if got, want := fa.done(), []string{"deactivate orders", "activate orders", "kill orders 2.5s", "deactivate orders"}; !slices.Equal(got, want) {
		t.Fatalf("actions done: %v, want %v", got, want)
	}
	// An action the cluster refuses says why.
	fa.mu.Lock()
	fa.err = errors.New("topology is killed")
	fa.mu.Unlock()
	if code, body := post(srv.URL+"/api/topologies/orders/activate", "application/json", "", "{}"); code != http.StatusConflict || !strings.Contains(body["error"], "topology is killed") {
		t.Fatalf("refused action: %d %v", code, body)
	}
}
