// Package layering holds the test that squall's import graph keeps the
// direction of dependencies DESIGN §1 gives: cmd → cluster, ingest,
// dashboard, examples → spouts, bolts → actors → topology, proto. A user who
// links a spout does not link the cluster, and the platform does not know
// its demo. It has no code of its own.
package layering
