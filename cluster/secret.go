package cluster

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// A cluster secret gives a cluster mutual TLS without a certificate
// authority to run: every node derives the same CA key from the secret and
// signs a certificate of its own with it at start, for its address. Nodes
// then check each other as they would with certificates from files; a peer
// without the secret fails the handshake. The secret never crosses the
// network, and the CA's public key, which does, gives no way back to it.

// MinSecretLen is the shortest cluster secret accepted, in bytes: the CA
// key is no stronger than the secret it comes from.
const MinSecretLen = 16

// ErrWeakSecret means a cluster secret shorter than MinSecretLen.
var ErrWeakSecret = fmt.Errorf("cluster secret shorter than %d bytes", MinSecretLen)

// secretCAInfo separates the CA key from anything else the secret might
// key; it must stay the same for nodes of one cluster to agree.
const secretCAInfo = "squall cluster CA v1"

// ReadSecretFile reads a cluster secret from a file, trimming surrounding
// white space (a trailing newline, say).
func ReadSecretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cluster secret: %w", err)
	}
	return bytes.TrimSpace(b), nil
}

// SecretTLS returns the mutual TLS configuration of a node of the cluster
// that shares secret, for a node reached at host.
func SecretTLS(secret []byte, host string) (*tls.Config, error) {
	if len(secret) < MinSecretLen {
		return nil, ErrWeakSecret
	}
	seed, err := hkdf.Key(sha256.New, secret, nil, secretCAInfo, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("cluster secret: %w", err)
	}
	caKey := ed25519.NewKeyFromSeed(seed)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "squall cluster CA"},
		NotBefore:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("cluster secret: CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("cluster secret: CA: %w", err)
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cluster secret: node key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("cluster secret: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    now.Add(-time.Hour), // clocks of nodes differ
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		return nil, fmt.Errorf("cluster secret: node certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der, caDER}, PrivateKey: key}},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}, nil
}

// Transport security modes, as nodes publish them in their ZooKeeper entry
// (NodeInfo.Transport) so that nodes of another mode are not given tasks.
const (
	// TransportPlaintext is a transport without TLS.
	TransportPlaintext = "plaintext"
	// transportTLSPrefix starts the mode of a mutual TLS transport, followed
	// by its issuer's fingerprint.
	transportTLSPrefix = "mutual-tls issuer="
)

// errNoCertificate means a TLS configuration with no certificate of the
// node's own, which mutual TLS needs.
var errNoCertificate = errors.New("TLS configuration has no certificate for the node")

// transportMode names the security of a transport with conf (nil: none):
// for mutual TLS, a fingerprint of the issuer of the node's certificate, so
// nodes with certificates of another authority, which could not talk to
// each other, differ.
func transportMode(conf *tls.Config) (string, error) {
	if conf == nil {
		return TransportPlaintext, nil
	}
	if len(conf.Certificates) == 0 || len(conf.Certificates[0].Certificate) == 0 {
		return "", errNoCertificate
	}
	leaf, err := x509.ParseCertificate(conf.Certificates[0].Certificate[0])
	if err != nil {
		return "", fmt.Errorf("node certificate: %w", err)
	}
	h := sha256.New()
	h.Write(leaf.RawIssuer)
	h.Write(leaf.AuthorityKeyId)
	return transportTLSPrefix + hex.EncodeToString(h.Sum(nil)[:12]), nil
}
