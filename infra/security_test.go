package infra_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"gopkg.in/yaml.v3"
)

// checkTimeout is the timeout the tests give Check; every failure must come
// back within it plus slack.
const checkTimeout = time.Second

// pki is a throwaway CA and a server certificate for 127.0.0.1 signed by it.
type pki struct {
	caFile string
	server tls.Certificate
}

func newPKI(t *testing.T) pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vectorstream test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return pki{caFile: caFile, server: tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}}
}

// serverTLS returns a server config; maxVersion 0 means Go's default.
func (p pki) serverTLS(maxVersion uint16) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12, MaxVersion: maxVersion}
}

func startKafka(t *testing.T, opts ...kfake.Opt) string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

func startQdrant(t *testing.T, opts ...qdrantfake.Opt) string {
	t.Helper()
	s, err := qdrantfake.Listen("127.0.0.1:0", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.Addr()
}

// startQdrantTLS serves qdrantfake on a gRPC server with TLS.
func startQdrantTLS(t *testing.T, tc *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(tc)))
	qdrantfake.New().Register(srv)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// silentAddr returns a loopback address that accepts connections and never
// says anything.
func silentAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	return ln.Addr().String()
}

func external(t *testing.T, broker, qdrantAddr string, sec infra.Security) infra.External {
	t.Helper()
	host, port, err := net.SplitHostPort(qdrantAddr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return infra.External{Brokers: []string{broker}, QdrantHost: host, QdrantPort: p, Security: sec}
}

// check runs infra.Check on ext and fails the test if it takes longer than
// the timeout plus slack, or if its error does not carry exit code 3.
func check(t *testing.T, ext infra.External) error {
	t.Helper()
	env := infra.Connect(ext)
	start := time.Now()
	err := infra.Check(t.Context(), env, checkTimeout)
	if d := time.Since(start); d > checkTimeout+time.Second {
		t.Errorf("Check took %s with a timeout of %s", d, checkTimeout)
	}
	if err != nil && exitcode.Of(err) != exitcode.Unreachable {
		t.Errorf("Check: %v carries exit code %d, want %d", err, exitcode.Of(err), exitcode.Unreachable)
	}
	return err
}

func wantErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", wants)
	}
	t.Log(err)
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if n := strings.Count(err.Error(), "\n"); n > 0 {
		t.Errorf("error %q has %d line breaks, want one line", err, n)
	}
}

func TestCheckKafkaTLS(t *testing.T) {
	p := newPKI(t)
	q := startQdrant(t)
	tls13 := startKafka(t, kfake.TLS(p.serverTLS(0)))
	tls12 := startKafka(t, kfake.TLS(p.serverTLS(tls.VersionTLS12)))
	plain := startKafka(t)

	if err := check(t, external(t, tls13, q, infra.Security{KafkaTLS: infra.TLSConfig{Enabled: true, CAFile: p.caFile}})); err != nil {
		t.Fatalf("TLS with the CA: %v", err)
	}
	err := check(t, external(t, tls13, q, infra.Security{KafkaTLS: infra.TLSConfig{Enabled: true}}))
	wantErr(t, err, "kafka "+tls13+": TLS:", "unknown authority", "kafka_tls.ca_file")

	err = check(t, external(t, tls12, q, infra.Security{KafkaTLS: infra.TLSConfig{Enabled: true, CAFile: p.caFile}}))
	wantErr(t, err, "kafka "+tls12+": TLS:", "does not speak TLS 1.3", `kafka_tls.min_version: "1.2"`)
	if err := check(t, external(t, tls12, q, infra.Security{KafkaTLS: infra.TLSConfig{Enabled: true, CAFile: p.caFile, MinVersion: "1.2"}})); err != nil {
		t.Fatalf("TLS 1.2 allowed: %v", err)
	}

	err = check(t, external(t, plain, q, infra.Security{KafkaTLS: infra.TLSConfig{Enabled: true, CAFile: p.caFile}}))
	wantErr(t, err, "kafka "+plain+": no broker answers within 1s", "kafka_tls.enabled")

	// Clients from NewKafkaClient use the TLS setup.
	env := infra.Connect(external(t, tls13, q, infra.Security{KafkaTLS: infra.TLSConfig{Enabled: true, CAFile: p.caFile}}))
	cl, err := infra.NewKafkaClient(env)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Ping(t.Context()); err != nil {
		t.Fatalf("NewKafkaClient over TLS: %v", err)
	}
}

func TestCheckQdrantTLS(t *testing.T) {
	p := newPKI(t)
	k := startKafka(t)
	tls13 := startQdrantTLS(t, p.serverTLS(0))
	tls12 := startQdrantTLS(t, p.serverTLS(tls.VersionTLS12))

	sec := infra.Security{QdrantTLS: infra.TLSConfig{Enabled: true, CAFile: p.caFile}}
	if err := check(t, external(t, k, tls13, sec)); err != nil {
		t.Fatalf("TLS with the CA: %v", err)
	}
	err := check(t, external(t, k, tls13, infra.Security{QdrantTLS: infra.TLSConfig{Enabled: true}}))
	wantErr(t, err, "qdrant "+tls13+": TLS:", "unknown authority", "qdrant_tls.ca_file")

	err = check(t, external(t, k, tls12, sec))
	wantErr(t, err, "qdrant "+tls12+": TLS:", "does not speak TLS 1.3", `qdrant_tls.min_version: "1.2"`)
	sec12 := infra.Security{QdrantTLS: infra.TLSConfig{Enabled: true, CAFile: p.caFile, MinVersion: "1.2"}}
	if err := check(t, external(t, k, tls12, sec12)); err != nil {
		t.Fatalf("TLS 1.2 allowed: %v", err)
	}

	// Clients from NewQdrantClient use the TLS setup.
	c, err := infra.NewQdrantClient(infra.Connect(external(t, k, tls13, sec)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := c.ListCollections(t.Context()); err != nil {
		t.Fatalf("NewQdrantClient over TLS: %v", err)
	}
}

func TestCheckKafkaSASL(t *testing.T) {
	const user, pass = "alice", "s3cret-Passw0rd"
	q := startQdrant(t)
	for _, mech := range []string{infra.SASLPlain, infra.SASLScramSHA256, infra.SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			k := startKafka(t, kfake.EnableSASL(), kfake.Superuser(mech, user, pass), kfake.SeedTopics(1, "t"))

			t.Setenv("VECTORSTREAM_TEST_KAFKA_PASSWORD", pass)
			fromEnv := infra.Security{KafkaSASL: infra.SASLConfig{Mechanism: mech, Username: user, PasswordEnv: "VECTORSTREAM_TEST_KAFKA_PASSWORD"}}
			if ps := fromEnv.Validate(); len(ps) > 0 {
				t.Fatal(ps)
			}
			if err := check(t, external(t, k, q, fromEnv)); err != nil {
				t.Fatalf("password from env: %v", err)
			}

			file := filepath.Join(t.TempDir(), "password")
			if err := os.WriteFile(file, []byte(pass+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			fromFile := infra.Security{KafkaSASL: infra.SASLConfig{Mechanism: mech, Username: user, PasswordFile: file}}
			env := infra.Connect(external(t, k, q, fromFile))
			if err := infra.Check(t.Context(), env, checkTimeout); err != nil {
				t.Fatalf("password from file: %v", err)
			}
			// Clients from NewKafkaClient log in too.
			cl, err := infra.NewKafkaClient(env, kgo.DefaultProduceTopic("t"))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if err := cl.ProduceSync(t.Context(), &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
				t.Fatalf("produce with SASL: %v", err)
			}

			t.Setenv("VECTORSTREAM_TEST_KAFKA_PASSWORD", "wrong")
			err = check(t, external(t, k, q, fromEnv))
			wantErr(t, err, fmt.Sprintf("kafka %s: SASL %s login refused for user %q", k, mech, user))
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

func TestCheckQdrantAPIKey(t *testing.T) {
	const key = "qdrant-Key-0123456789"
	k := startKafka(t)
	q := startQdrant(t, qdrantfake.WithAPIKey(key))
	file := filepath.Join(t.TempDir(), "qdrant.key")
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	sec := infra.Security{QdrantAPIKeyFile: file}
	if err := check(t, external(t, k, q, sec)); err != nil {
		t.Fatalf("right key: %v", err)
	}
	c, err := infra.NewQdrantClient(infra.Connect(external(t, k, q, sec)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := c.ListCollections(t.Context()); err != nil {
		t.Fatalf("NewQdrantClient with the key: %v", err)
	}

	t.Setenv("VECTORSTREAM_TEST_QDRANT_KEY", "not-the-key")
	err = check(t, external(t, k, q, infra.Security{QdrantAPIKeyEnv: "VECTORSTREAM_TEST_QDRANT_KEY"}))
	wantErr(t, err, "qdrant "+q+": API key refused")
	if strings.Contains(err.Error(), "not-the-key") {
		t.Errorf("error %q contains the key", err)
	}
	wantErr(t, check(t, external(t, k, q, infra.Security{})), "qdrant "+q+": API key refused")

	missing := filepath.Join(t.TempDir(), "missing.key")
	bad := external(t, k, q, infra.Security{QdrantAPIKeyFile: missing})
	err = bad.Validate()
	wantErr(t, err, "qdrant_api_key_file: cannot read "+missing)
	_, err = infra.Start(t.Context(), infra.ModeExternal, infra.EmbeddedConfig{}, bad)
	wantErr(t, err, "qdrant_api_key_file: cannot read "+missing)
	// Connect cannot fail; the problem surfaces at the first dial.
	wantErr(t, check(t, bad), "qdrant "+q+":", "qdrant_api_key_file: cannot read "+missing)
}

func TestCheckNothingAnswers(t *testing.T) {
	k, q := startKafka(t), startQdrant(t)
	dead := deadAddr(t)
	err := check(t, external(t, dead, q, infra.Security{}))
	wantErr(t, err, "kafka "+dead+": no broker answers within 1s")
	err = check(t, external(t, k, dead, infra.Security{}))
	wantErr(t, err, "qdrant "+dead+": does not answer within 1s")

	silent := silentAddr(t)
	wantErr(t, check(t, external(t, silent, q, infra.Security{})), "kafka "+silent+": no broker answers within 1s")
	wantErr(t, check(t, external(t, k, silent, infra.Security{})), "qdrant "+silent+": does not answer within 1s")

	// Both failures at once, each on its own line.
	err = check(t, external(t, dead, dead, infra.Security{}))
	if err == nil || strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("two failures: got %q, want two lines", err)
	}

	// An answering setup passes.
	if err := check(t, external(t, k, q, infra.Security{})); err != nil {
		t.Fatal(err)
	}
}

func TestCheckQdrantRESTPort(t *testing.T) {
	k := startKafka(t)
	err := check(t, external(t, k, "127.0.0.1:6333", infra.Security{}))
	wantErr(t, err, "qdrant 127.0.0.1:6333: 6333 is Qdrant's REST port; VectorStream speaks gRPC (6334)")
}

func TestSecurityValidate(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sec  infra.Security
		want []string
	}{
		{"zero", infra.Security{}, nil},
		{"mechanism", infra.Security{KafkaSASL: infra.SASLConfig{Mechanism: "GSSAPI", Username: "u", PasswordEnv: "HOME"}},
			[]string{"kafka_sasl.mechanism: must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got \"GSSAPI\""}},
		{"no mechanism", infra.Security{KafkaSASL: infra.SASLConfig{Username: "u"}}, []string{"kafka_sasl.mechanism: must be set"}},
		{"no username, no password", infra.Security{KafkaSASL: infra.SASLConfig{Mechanism: "PLAIN"}},
			[]string{"kafka_sasl.username: must be set", "kafka_sasl.password_env: SASL needs a password"}},
		{"env unset", infra.Security{KafkaSASL: infra.SASLConfig{Mechanism: "PLAIN", Username: "u", PasswordEnv: "VECTORSTREAM_TEST_UNSET"}},
			[]string{"kafka_sasl.password_env: environment variable VECTORSTREAM_TEST_UNSET is not set"}},
		{"file missing", infra.Security{KafkaSASL: infra.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "u", PasswordFile: missing}},
			[]string{"kafka_sasl.password_file: cannot read " + missing + ": no such file or directory"}},
		{"file empty", infra.Security{QdrantAPIKeyFile: empty}, []string{"qdrant_api_key_file: " + empty + " is empty"}},
		{"both sources", infra.Security{QdrantAPIKeyEnv: "HOME", QdrantAPIKeyFile: empty},
			[]string{"qdrant_api_key_env: set only one of qdrant_api_key_env and qdrant_api_key_file"}},
		{"min version", infra.Security{KafkaTLS: infra.TLSConfig{Enabled: true, MinVersion: "1.1"}, QdrantTLS: infra.TLSConfig{Enabled: true, MinVersion: "TLS1.3"}},
			[]string{`kafka_tls.min_version: must be "1.2" or "1.3", got "1.1"`, `qdrant_tls.min_version: must be "1.2" or "1.3", got "TLS1.3"`}},
		{"tls off", infra.Security{QdrantTLS: infra.TLSConfig{CAFile: missing}}, []string{"qdrant_tls.ca_file: is set but qdrant_tls.enabled is false"}},
		{"ca missing", infra.Security{KafkaTLS: infra.TLSConfig{Enabled: true, CAFile: missing}}, []string{"kafka_tls.ca_file: cannot read " + missing}},
		{"ca not pem", infra.Security{KafkaTLS: infra.TLSConfig{Enabled: true, CAFile: empty}}, []string{"kafka_tls.ca_file: " + empty + " holds no PEM certificate"}},
		{"cert without key", infra.Security{KafkaTLS: infra.TLSConfig{Enabled: true, CertFile: empty}}, []string{"kafka_tls.key_file: must be set when cert_file is"}},
		{"timeout", infra.Security{Timeout: -time.Second}, []string{"timeout: must not be negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.sec.Validate()
			if len(ps) != len(tc.want) {
				t.Fatalf("got %d problems %v, want %d", len(ps), ps, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(ps[i].Error(), w) {
					t.Errorf("problem %d: %q does not contain %q", i, ps[i].Error(), w)
				}
			}
		})
	}
}

func TestSecurityYAML(t *testing.T) {
	const doc = `
kafka_tls: {enabled: true, ca_file: /etc/ca.pem, server_name: kafka.internal, min_version: "1.2"}
kafka_sasl: {mechanism: SCRAM-SHA-512, username: bench, password_env: KAFKA_PASSWORD}
qdrant_tls: {enabled: true}
qdrant_api_key_file: /run/secrets/qdrant
timeout: 5s
`
	var sec infra.Security
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&sec); err != nil {
		t.Fatal(err)
	}
	want := infra.Security{
		KafkaTLS:         infra.TLSConfig{Enabled: true, CAFile: "/etc/ca.pem", ServerName: "kafka.internal", MinVersion: "1.2"},
		KafkaSASL:        infra.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "bench", PasswordEnv: "KAFKA_PASSWORD"},
		QdrantTLS:        infra.TLSConfig{Enabled: true},
		QdrantAPIKeyFile: "/run/secrets/qdrant",
		Timeout:          5 * time.Second,
	}
	if sec != want {
		t.Errorf("decoded %+v, want %+v", sec, want)
	}
	if want.EffectiveTimeout() != 5*time.Second || (infra.Security{}).EffectiveTimeout() != infra.DefaultTimeout {
		t.Error("EffectiveTimeout")
	}

	// A password in clear text is not a field at all.
	dec = yaml.NewDecoder(strings.NewReader("kafka_sasl: {mechanism: PLAIN, username: u, password: hunter2}\n"))
	dec.KnownFields(true)
	err := dec.Decode(&sec)
	if err == nil || !strings.Contains(err.Error(), "field password not found") {
		t.Errorf("strict decoding of a clear-text password: got %v", err)
	}
}

func TestSecretsStayHidden(t *testing.T) {
	const pass, key = "kafka-Pa55word-xyz", "qdrant-Ap1key-xyz"
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VECTORSTREAM_TEST_KAFKA_PASSWORD", pass)
	sec := infra.Security{
		KafkaTLS:         infra.TLSConfig{Enabled: true},
		KafkaSASL:        infra.SASLConfig{Mechanism: infra.SASLScramSHA256, Username: "u", PasswordEnv: "VECTORSTREAM_TEST_KAFKA_PASSWORD"},
		QdrantAPIKeyFile: keyFile,
	}
	ext := infra.External{Brokers: []string{"127.0.0.1:9092"}, QdrantHost: "127.0.0.1", Security: sec}
	env := infra.Connect(ext)
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v %v %+v %#v %s", ext, ext, ext, sec, env, env, env.QdrantDialOptions)
	for _, v := range []any{ext, sec, env} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(b)
	}
	for _, secret := range []string{pass, key} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("a secret shows in printed or marshalled values:\n%s", out.String())
		}
	}

	// The clients do get the secrets.
	k := startKafka(t, kfake.EnableSASL(), kfake.Superuser(infra.SASLScramSHA256, "u", pass))
	q := startQdrant(t, qdrantfake.WithAPIKey(key))
	sec.KafkaTLS = infra.TLSConfig{}
	if err := check(t, external(t, k, q, sec)); err != nil {
		t.Fatal(err)
	}
	c, err := infra.NewQdrantClient(infra.Connect(external(t, k, q, sec)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if err := c.CreateCollection(t.Context(), &qdrant.CreateCollection{CollectionName: "c", VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 2, Distance: qdrant.Distance_Cosine})}); err != nil {
		t.Fatal(err)
	}
}

func TestConnectUnreadableSecret(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	ext := external(t, startKafka(t), startQdrant(t), infra.Security{
		KafkaSASL: infra.SASLConfig{Mechanism: infra.SASLPlain, Username: "u", PasswordFile: missing},
	})
	wantErr(t, check(t, ext), "infra: security: kafka_sasl.password_file: cannot read "+missing)
}

// TestCheckKafkaSASLOnAPlaintextListener: a SASL login against a real broker's
// PLAINTEXT listener (the one CI starts) says so in a sentence, not as the Kafka error
// code ILLEGAL_SASL_STATE. (kfake just closes the connection, which reads as a refused
// login.)
func TestCheckKafkaSASLOnAPlaintextListener(t *testing.T) {
	k := os.Getenv("VECTORSTREAM_KAFKA_BROKERS")
	if k == "" {
		t.Skip("set VECTORSTREAM_KAFKA_BROKERS to a real broker's PLAINTEXT listener (make kafka-up)")
	}
	t.Setenv("VECTORSTREAM_TEST_KAFKA_PASSWORD", "pw")
	sec := infra.Security{KafkaSASL: infra.SASLConfig{Mechanism: infra.SASLPlain, Username: "u", PasswordEnv: "VECTORSTREAM_TEST_KAFKA_PASSWORD"}}
	err := check(t, external(t, k, startQdrant(t), sec))
	wantErr(t, err, fmt.Sprintf("kafka %s: PLAIN login refused: the broker does not speak SASL on this listener", k))
}
