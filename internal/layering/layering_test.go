package layering

import (
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "github.com/squall-stream/squall"

// layers ranks the project's packages by path prefix, the longest prefix
// deciding: a package may import project packages of a lower rank only.
// Rank 0 imports nothing of the project; topology, the user API, only what
// it keeps from users for the runtime (internal/topologyinternal).
var layers = map[string]int{
	"internal/topologyinternal": 0,
	"internal/refusal":          0,
	"internal/check":            0,
	"internal/testinfra":        0,
	"internal/browsertest":      0,
	"topology":                  1,
	"proto":                     2,
	"zkstore":                   2,
	"topology/topologytest":     2,
	"actors":                    3,
	"actors/promexport":         4,
	"spouts":                    4,
	"bolts":                     4,
	"cluster":                   5,
	"ingest":                    5,
	"dashboard":                 5,
	"examples":                  5,
	"cmd":                       6,
	"internal/benchmarks":       6,
	"internal/layering":         6,
}

// sameLayer lists the imports between packages of one rank that the design
// allows, with why.
var sameLayer = map[[2]string]string{
	// The orders page plugs into the generic dashboard, next to its example.
	{"examples/orders/ordersui", "dashboard"}:       "a page of the dashboard",
	{"examples/orders/ordersui", "examples/orders"}: "the example's own page",
}

func rank(pkg string) (int, bool) {
	for p := pkg; p != "." && p != "/"; p = path.Dir(p) {
		if r, ok := layers[p]; ok {
			return r, true
		}
	}
	return 0, false
}

func TestImportsFollowTheLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module+"/")
		r, ok := rank(pkg)
		if !ok {
			t.Errorf("package %s has no layer: add it to layers", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			dr, _ := rank(dep)
			if dr < r || sameLayer[[2]string{pkg, dep}] != "" {
				continue
			}
			t.Errorf("%s (layer %d) imports %s (layer %d)", pkg, r, dep, dr)
		}
	}
}

// TestSpoutsLinkNoRuntimeTransport: a user's Kafka spout links neither
// protoactor, gRPC nor Prometheus.
func TestSpoutsLinkNoRuntimeTransport(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"/spouts/...", module+"/bolts/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"protoactor", "google.golang.org/grpc", "prometheus"} {
			if strings.Contains(dep, banned) {
				t.Errorf("spouts and bolts link %s", dep)
			}
		}
	}
}
