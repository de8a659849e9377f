package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/squall-stream/squall/topology"
)

// Actions are the topology operations the topology page offers as buttons,
// as Storm UI's topology actions: squall ui hands the cluster's over with
// --actions. Each names the topology; an error is shown on the page.
type Actions interface {
	Activate(ctx context.Context, topology string) error
	Deactivate(ctx context.Context, topology string) error
	// Kill deactivates the topology, lets in-flight trees drain for up to
	// wait, then removes it.
	Kill(ctx context.Context, topology string, wait time.Duration) error
}

// actionRequest is the body of POST /api/topologies/{name}/{action}.
type actionRequest struct {
	// WaitSeconds is how long a kill lets in-flight trees drain; 0 kills
	// at once.
	WaitSeconds float64 `json:"waitSeconds"`
}

// serveAction runs an action on a topology. A request must carry JSON and,
// from a browser, come from the dashboard's own origin: a page on another
// site can then not make a visitor's browser kill a topology, since it can
// neither send JSON across origins without the server's consent nor hide
// its origin. And it must name the dashboard by an IP address, localhost,
// or one of Options.ActionHosts: a site that points its own name at the
// dashboard's address (DNS rebinding) is its own origin, but not one of
// those names.
func (s *Server) serveAction(w http.ResponseWriter, r *http.Request) {
	if !s.actionHost(r.Host) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": fmt.Sprintf("actions are not taken for host %q; name it with --actions-host", r.Host)})
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "an action takes a JSON body"})
		return
	}
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": fmt.Sprintf("an action from %s, not from this dashboard", o)})
			return
		}
	}
	var req actionRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("action body: %v", err)})
		return
	}
	name, action := r.PathValue("name"), r.PathValue("action")
	if err := topology.ValidateName(topology.TopologyName, name); err != nil {
		s.opts.Logger.Warn("topology action refused", "action", action, "err", err)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	var err error
	switch action {
	case "activate":
		err = s.opts.Actions.Activate(r.Context(), name)
	case "deactivate":
		err = s.opts.Actions.Deactivate(r.Context(), name)
	case "kill":
		if !(req.WaitSeconds >= 0 && req.WaitSeconds <= 24*3600) {
			err = errors.New("waitSeconds must be between 0 and a day")
			break
		}
		err = s.opts.Actions.Kill(r.Context(), name, time.Duration(req.WaitSeconds*float64(time.Second)))
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no action %q; there are activate, deactivate and kill", action)})
		return
	}
	if err != nil {
		s.opts.Logger.Warn("topology action failed", "topology", name, "action", action, "err", err)
		writeJSON(w, http.StatusConflict, map[string]string{"error": fmt.Sprintf("%s %s: %v", action, name, err)})
		return
	}
	s.opts.Logger.Info("topology action", "topology", name, "action", action)
	writeJSON(w, http.StatusOK, map[string]string{"done": action + " " + name})
}

// actionHost reports whether actions may be taken for a request to host.
func (s *Server) actionHost(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	if name == "localhost" || net.ParseIP(strings.Trim(name, "[]")) != nil {
		return true
	}
	return slices.Contains(s.opts.ActionHosts, name)
}
