package infra

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/internal/problem"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// DefaultTimeout is how long connecting to and first hearing from Kafka or
// Qdrant may take, unless Security.Timeout says otherwise.
const DefaultTimeout = 10 * time.Second

// QdrantRESTPort is Qdrant's REST port, which VectorStream does not speak.
const QdrantRESTPort = 6333

// SASL mechanisms Security.KafkaSASL.Mechanism accepts.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// Security is how VectorStream authenticates to, and encrypts its traffic
// with, external Kafka and Qdrant services. It holds no secret: passwords and
// API keys are named by an environment variable or a file, read when the
// clients are made (Connect), and kept only inside the clients' options. The
// zero value is plaintext without authentication and DefaultTimeout.
type Security struct {
	// KafkaTLS encrypts the connections to the brokers.
	KafkaTLS TLSConfig `yaml:"kafka_tls" json:"kafka_tls"`
	// KafkaSASL authenticates to the brokers; an empty mechanism means none.
	KafkaSASL SASLConfig `yaml:"kafka_sasl" json:"kafka_sasl"`
	// QdrantTLS encrypts the gRPC connection to Qdrant.
	QdrantTLS TLSConfig `yaml:"qdrant_tls" json:"qdrant_tls"`
	// QdrantAPIKeyEnv names the environment variable that holds Qdrant's API
	// key; QdrantAPIKeyFile names a file that holds it (trailing newlines are
	// dropped). At most one may be set; neither means no API key.
	QdrantAPIKeyEnv  string `yaml:"qdrant_api_key_env" json:"qdrant_api_key_env,omitempty"`
	QdrantAPIKeyFile string `yaml:"qdrant_api_key_file" json:"qdrant_api_key_file,omitempty"`
	// Timeout bounds dialing and the first answer of each service (Check);
	// zero means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// TLSConfig is the TLS setup of a connection to one service.
type TLSConfig struct {
	// Enabled turns TLS on; the other fields are refused without it.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// CAFile is a PEM file of the certificate authorities that sign the
	// server's certificate; empty means the system's roots.
	CAFile string `yaml:"ca_file" json:"ca_file,omitempty"`
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// servers that require mutual TLS; both or neither.
	CertFile string `yaml:"cert_file" json:"cert_file,omitempty"`
	KeyFile  string `yaml:"key_file" json:"key_file,omitempty"`
	// ServerName is the name the server's certificate must carry; empty means
	// the host of the address dialed.
	ServerName string `yaml:"server_name" json:"server_name,omitempty"`
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify" json:"insecure_skip_verify,omitempty"`
	// MinVersion is the lowest TLS version offered: "1.3" (the default) or
	// "1.2".
	MinVersion string `yaml:"min_version" json:"min_version,omitempty"`
}

// SASLConfig is the SASL login to the Kafka brokers. The password comes from
// the environment variable PasswordEnv or the file PasswordFile, exactly one;
// there is deliberately no field for a password itself.
type SASLConfig struct {
	// Mechanism is SASLPlain, SASLScramSHA256 or SASLScramSHA512; empty
	// means no SASL.
	Mechanism string `yaml:"mechanism" json:"mechanism,omitempty"`
	// Username is the SASL user.
	Username string `yaml:"username" json:"username,omitempty"`
	// PasswordEnv names the environment variable that holds the password.
	PasswordEnv string `yaml:"password_env" json:"password_env,omitempty"`
	// PasswordFile names a file that holds the password (trailing newlines
	// are dropped).
	PasswordFile string `yaml:"password_file" json:"password_file,omitempty"`
}

// EffectiveTimeout returns Timeout, or DefaultTimeout when Timeout is zero.
func (s Security) EffectiveTimeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

// Validate reports every problem with s at once: unknown mechanisms and TLS
// versions, missing or contradictory fields, environment variables that are
// unset and files that cannot be read or parsed. It reads the secrets to check
// them but never puts them in a problem.
func (s Security) Validate() []problem.Problem {
	var ps []problem.Problem
	_, p := s.KafkaTLS.build("kafka_tls")
	ps = append(ps, p...)
	_, p = s.QdrantTLS.build("qdrant_tls")
	ps = append(ps, p...)
	_, p = s.KafkaSASL.password()
	ps = append(ps, p...)
	_, p = s.qdrantAPIKey()
	ps = append(ps, p...)
	if s.Timeout < 0 {
		ps = append(ps, problem.Problem{Path: "timeout", Msg: fmt.Sprintf("must not be negative, got %s", s.Timeout)})
	}
	return ps
}

// problemsError joins ps into one error, each prefixed with prefix.
func problemsError(prefix string, ps []problem.Problem) error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = fmt.Errorf("%s%w", prefix, p)
	}
	return errors.Join(errs...)
}

// build returns the tls.Config of t, nil when TLS is off, and the problems of
// the fields under prefix.
func (t TLSConfig) build(prefix string) (*tls.Config, []problem.Problem) {
	var ps []problem.Problem
	bad := func(field, format string, args ...any) {
		ps = append(ps, problem.Problem{Path: prefix + "." + field, Msg: fmt.Sprintf(format, args...)})
	}
	minVersion := uint16(tls.VersionTLS13)
	switch t.MinVersion {
	case "", "1.3":
	case "1.2":
		minVersion = tls.VersionTLS12
	default:
		bad("min_version", "must be \"1.2\" or \"1.3\", got %q", t.MinVersion)
	}
	if !t.Enabled {
		set := map[string]bool{
			"ca_file": t.CAFile != "", "cert_file": t.CertFile != "", "key_file": t.KeyFile != "",
			"server_name": t.ServerName != "", "insecure_skip_verify": t.InsecureSkipVerify, "min_version": t.MinVersion != "",
		}
		for _, f := range []string{"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify", "min_version"} {
			if set[f] {
				bad(f, "is set but %s.enabled is false", prefix)
			}
		}
		return nil, ps
	}
	c := &tls.Config{MinVersion: minVersion, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in, documented as for tests
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		switch {
		case err != nil:
			bad("ca_file", "cannot read %s: %v", t.CAFile, pathless(err))
		default:
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				bad("ca_file", "%s holds no PEM certificate", t.CAFile)
			}
			c.RootCAs = pool
		}
	}
	switch {
	case t.CertFile == "" && t.KeyFile == "":
	case t.CertFile == "":
		bad("cert_file", "must be set when key_file is")
	case t.KeyFile == "":
		bad("key_file", "must be set when cert_file is")
	default:
		certPEM, err := os.ReadFile(t.CertFile)
		if err != nil {
			bad("cert_file", "cannot read %s: %v", t.CertFile, pathless(err))
		}
		keyPEM, kerr := os.ReadFile(t.KeyFile)
		if kerr != nil {
			bad("key_file", "cannot read %s: %v", t.KeyFile, pathless(kerr))
		}
		if err == nil && kerr == nil {
			cert, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				// X509KeyPair's errors describe the PEM blocks, never their bytes.
				bad("cert_file", "%s and %s are not a certificate and its key: %v", t.CertFile, t.KeyFile, err)
			}
			c.Certificates = []tls.Certificate{cert}
		}
	}
	return c, ps
}

// password returns the SASL password, "" when SASL is off, and the problems
// of the kafka_sasl fields.
func (a SASLConfig) password() (string, []problem.Problem) {
	var ps []problem.Problem
	bad := func(field, format string, args ...any) {
		ps = append(ps, problem.Problem{Path: "kafka_sasl." + field, Msg: fmt.Sprintf(format, args...)})
	}
	switch a.Mechanism {
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
	case "":
		if a.Username != "" || a.PasswordEnv != "" || a.PasswordFile != "" {
			bad("mechanism", "must be set when kafka_sasl has a username or password source (%s, %s or %s)", SASLPlain, SASLScramSHA256, SASLScramSHA512)
		}
		return "", ps
	default:
		bad("mechanism", "must be %s, %s or %s, got %q", SASLPlain, SASLScramSHA256, SASLScramSHA512, a.Mechanism)
	}
	if a.Username == "" {
		bad("username", "must be set for SASL")
	}
	pass, sp := readSecret("kafka_sasl.password_env", a.PasswordEnv, "kafka_sasl.password_file", a.PasswordFile)
	ps = append(ps, sp...)
	if a.PasswordEnv == "" && a.PasswordFile == "" {
		bad("password_env", "SASL needs a password: set password_env (an environment variable) or password_file")
	}
	return pass, ps
}

// qdrantAPIKey returns the API key, "" when none is configured, and the
// problems of its fields.
func (s Security) qdrantAPIKey() (string, []problem.Problem) {
	return readSecret("qdrant_api_key_env", s.QdrantAPIKeyEnv, "qdrant_api_key_file", s.QdrantAPIKeyFile)
}

// readSecret reads a secret from the environment variable env or the file
// file (at most one may be set). Problems name the field and the variable or
// path, never the secret.
func readSecret(envField, env, fileField, file string) (string, []problem.Problem) {
	switch {
	case env != "" && file != "":
		return "", []problem.Problem{{Path: envField, Msg: fmt.Sprintf("set only one of %s and %s", envField, fileField)}}
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return "", []problem.Problem{{Path: envField, Msg: fmt.Sprintf("environment variable %s is not set", env)}}
		}
		if v == "" {
			return "", []problem.Problem{{Path: envField, Msg: fmt.Sprintf("environment variable %s is empty", env)}}
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", []problem.Problem{{Path: fileField, Msg: fmt.Sprintf("cannot read %s: %v", file, pathless(err))}}
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", []problem.Problem{{Path: fileField, Msg: fmt.Sprintf("%s is empty", file)}}
		}
		return v, nil
	}
	return "", nil
}

// pathless returns the reason of a file error without the path, which the
// caller names itself.
func pathless(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// saslMechanism is a mechanism that can say who logs in, so that Check can
// name the user when the broker refuses the login.
type saslMechanism struct {
	sasl.Mechanism
	user string
}

// kafkaOpts returns the franz-go options that s asks for.
func (s Security) kafkaOpts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.DialTimeout(s.EffectiveTimeout())}
	tc, ps := s.KafkaTLS.build("kafka_tls")
	pass, sp := s.KafkaSASL.password()
	if ps = append(ps, sp...); len(ps) > 0 {
		return nil, problemsError("infra: security: ", ps)
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	// The password lives only in these closures: nothing that prints or
	// marshals an Env or its options can reach it.
	user := s.KafkaSASL.Username
	var m sasl.Mechanism
	switch s.KafkaSASL.Mechanism {
	case SASLPlain:
		m = plain.Plain(func(context.Context) (plain.Auth, error) { return plain.Auth{User: user, Pass: pass}, nil })
	case SASLScramSHA256:
		m = scram.Sha256(func(context.Context) (scram.Auth, error) { return scram.Auth{User: user, Pass: pass}, nil })
	case SASLScramSHA512:
		m = scram.Sha512(func(context.Context) (scram.Auth, error) { return scram.Auth{User: user, Pass: pass}, nil })
	}
	if m != nil {
		opts = append(opts, kgo.SASL(saslMechanism{m, user}))
	}
	return opts, nil
}

// qdrantDialOptions returns the gRPC dial options that s asks for.
func (s Security) qdrantDialOptions() ([]grpc.DialOption, error) {
	tc, ps := s.QdrantTLS.build("qdrant_tls")
	key, kp := s.qdrantAPIKey()
	if ps = append(ps, kp...); len(ps) > 0 {
		return nil, problemsError("infra: security: ", ps)
	}
	var opts []grpc.DialOption
	if tc != nil {
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	}
	if key != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(apiKey{key: key}))
	}
	return opts, nil
}

// apiKey sends Qdrant's api-key header with every RPC, as the official client
// does. It prints and logs as "[redacted]".
type apiKey struct{ key string }

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (k apiKey) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"api-key": k.key}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials. Qdrant
// accepts keys over plaintext (the official client only warns), and loopback
// setups rely on it.
func (apiKey) RequireTransportSecurity() bool { return false }

// String redacts the key.
func (apiKey) String() string { return "[redacted]" }

// GoString redacts the key.
func (apiKey) GoString() string { return "[redacted]" }

// LogValue redacts the key.
func (apiKey) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalJSON redacts the key.
func (apiKey) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// failKafka and failQdrant stand in for the security options when they cannot
// be built (Connect cannot return an error): every dial fails with err, so the
// first use, or Check, reports it.
func failKafka(err error) kgo.Opt {
	return kgo.Dialer(func(context.Context, string, string) (net.Conn, error) { return nil, err })
}

func failQdrant(err error) grpc.DialOption {
	return grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return nil, err })
}

// Check verifies, within timeout (zero means DefaultTimeout), that env's
// Kafka brokers and Qdrant answer with the configured TLS, SASL login and API
// key. Both are checked at once; each failure is one error naming the
// address and, where it can tell, what to fix: no broker answering, a
// refused SASL login, a certificate the client does not trust, a TLS version
// the server does not speak, a refused API key, Qdrant's REST port.
// Services that are still starting are retried until the timeout. Its error
// carries exitcode.Unreachable (exit 3).
func Check(ctx context.Context, env *Env, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var kafkaErr, qdrantErr error
	var wg sync.WaitGroup
	wg.Go(func() { kafkaErr = checkKafka(ctx, env, timeout) })
	wg.Go(func() { qdrantErr = checkQdrant(ctx, env, timeout) })
	wg.Wait()
	return exitcode.With(errors.Join(kafkaErr, qdrantErr), exitcode.Unreachable)
}

// retryEvery is how often Check asks a service that does not answer yet.
const retryEvery = 200 * time.Millisecond

func checkKafka(ctx context.Context, env *Env, timeout time.Duration) error {
	addr := strings.Join(env.KafkaBrokers, ",")
	watch := new(saslWatch)
	cl, err := NewKafkaClient(env, kgo.DialTimeout(timeout), kgo.WithHooks(watch))
	if err != nil {
		return fmt.Errorf("kafka %s: %w", addr, err)
	}
	defer cl.Close()
	var last error
	for {
		err := cl.Ping(ctx)
		if err == nil {
			return nil
		}
		if msg, ok := kafkaProblem(cl, err, watch.cut.Load()); ok {
			return fmt.Errorf("kafka %s: %s", addr, msg)
		}
		if !isContextErr(err) {
			last = err
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("kafka %s: no broker answers within %s", addr, timeout)
			if last != nil {
				msg += " (" + last.Error() + ")"
			}
			// A TLS client talking to a plaintext listener, or the other way
			// round, sees silence or a closed connection.
			tlsOn := cl.OptValue(kgo.DialTLSConfig) != (*tls.Config)(nil)
			if (tlsOn && (last == nil || errors.Is(last, io.EOF))) || (!tlsOn && errors.Is(last, io.EOF)) {
				msg += fmt.Sprintf("; does the listener speak TLS? kafka_tls.enabled is %t", tlsOn)
			}
			return errors.New(msg)
		case <-time.After(retryEvery):
		}
	}
}

// saslWatch notices a broker that cuts the connection in answer to a SASL
// login instead of answering it: brokers that answer with
// SASL_AUTHENTICATION_FAILED close the connection right after, and some
// (kfake among them) only close it.
type saslWatch struct{ cut atomic.Bool }

// saslAuthenticateKey is the API key of SaslAuthenticate (kmsg.SASLAuthenticate).
const saslAuthenticateKey int16 = 36

// OnBrokerRead implements kgo.HookBrokerRead.
func (w *saslWatch) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == saslAuthenticateKey && err != nil {
		w.cut.Store(true)
	}
}

// kafkaProblem says what a Ping error means when retrying cannot help;
// saslCut says the broker closed the connection in answer to a SASL login.
func kafkaProblem(cl *kgo.Client, err error, saslCut bool) (string, bool) {
	if errors.Is(err, kerr.SaslAuthenticationFailed) || (saslCut && errors.Is(err, io.EOF)) {
		mech, user := "", ""
		if ms, _ := cl.OptValue(kgo.SASL).([]sasl.Mechanism); len(ms) > 0 {
			mech = ms[0].Name()
			if m, ok := ms[0].(saslMechanism); ok {
				user = m.user
			}
		}
		return fmt.Sprintf("SASL %s login refused for user %q", mech, user), true
	}
	if errors.Is(err, kerr.IllegalSaslState) || errors.Is(err, kerr.UnsupportedSaslMechanism) {
		mech := "SASL"
		if ms, _ := cl.OptValue(kgo.SASL).([]sasl.Mechanism); len(ms) > 0 {
			mech = ms[0].Name()
		}
		if errors.Is(err, kerr.UnsupportedSaslMechanism) {
			return fmt.Sprintf("%s login refused: the broker does not enable %s on this listener (kafka_sasl.mechanism)", mech, mech), true
		}
		return fmt.Sprintf("%s login refused: the broker does not speak SASL on this listener (a PLAINTEXT or SSL one? check the port, or drop kafka_sasl)", mech), true
	}
	if msg, ok := tlsProblem(err.Error(), "kafka_tls"); ok {
		return msg, true
	}
	if i := strings.Index(err.Error(), "infra: security: "); i >= 0 {
		return err.Error()[i:], true
	}
	var ke *kerr.Error
	if errors.As(err, &ke) && !ke.Retriable {
		return err.Error(), true
	}
	return "", false
}

// tlsProblem recognizes TLS failures in an error message and says what to
// fix in the fields under prefix.
func tlsProblem(msg, prefix string) (string, bool) {
	switch {
	case strings.Contains(msg, "x509: certificate signed by unknown authority"):
		return fmt.Sprintf("TLS: the server's certificate is signed by an unknown authority (set %s.ca_file to its CA)", prefix), true
	case strings.Contains(msg, "x509: certificate is valid for"), strings.Contains(msg, "x509: certificate is not valid for any names"):
		return fmt.Sprintf("TLS: %s (set %s.server_name)", msg[strings.Index(msg, "x509: "):], prefix), true
	case strings.Contains(msg, "x509: "):
		return fmt.Sprintf("TLS: %s", strings.TrimRight(msg[strings.Index(msg, "x509: "):], "\"")), true
	case strings.Contains(msg, "protocol version not supported"):
		return fmt.Sprintf("TLS: the server does not speak TLS 1.3 (set %s.min_version: \"1.2\" to allow TLS 1.2)", prefix), true
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Sprintf("TLS: the server does not speak TLS on this port (check %s.enabled)", prefix), true
	case strings.Contains(msg, "tls: "):
		return fmt.Sprintf("TLS: %s", strings.TrimRight(msg[strings.Index(msg, "tls: "):], "\"")), true
	}
	return "", false
}

func isContextErr(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

func checkQdrant(ctx context.Context, env *Env, timeout time.Duration) error {
	addr := env.QdrantAddr()
	rest := env.QdrantPort == QdrantRESTPort
	fail := func(msg string) error {
		if rest {
			return fmt.Errorf("qdrant %s: %d is Qdrant's REST port; VectorStream speaks gRPC (%d) (%s)", addr, QdrantRESTPort, DefaultQdrantPort, msg)
		}
		return fmt.Errorf("qdrant %s: %s", addr, msg)
	}
	c, err := newQdrantClient(env, true, 1)
	if err != nil {
		return fail(err.Error())
	}
	defer c.Close()
	var last string
	for {
		_, err := c.GetQdrantClient().HealthCheck(ctx, &qdrant.HealthCheckRequest{})
		if err == nil {
			// Qdrant may answer health checks without a key: list the
			// collections to check the key too.
			_, err = c.GetCollectionsClient().List(ctx, &qdrant.ListCollectionsRequest{})
			if err == nil {
				return nil
			}
		}
		st := status.Convert(err)
		switch st.Code() {
		case codes.Unauthenticated, codes.PermissionDenied:
			return fmt.Errorf("qdrant %s: API key refused (%s; check qdrant_api_key_env or qdrant_api_key_file)", addr, st.Message())
		case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
			if msg, ok := tlsProblem(st.Message(), "qdrant_tls"); ok {
				return fail(msg)
			}
			if i := strings.Index(st.Message(), "infra: security: "); i >= 0 {
				return fail(strings.TrimRight(st.Message()[i:], "\""))
			}
			if st.Code() == codes.Unavailable {
				last = st.Message()
				if rest {
					return fail(last)
				}
			}
		default:
			return fail(st.Code().String() + ": " + st.Message())
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("does not answer within %s", timeout)
			if last != "" {
				msg += " (" + last + ")"
			}
			return fail(msg)
		case <-time.After(retryEvery):
		}
	}
}

// newQdrantClient returns the official client for env with pool connections;
// see NewQdrantClient.
// qdrantConnectParams caps how long a Qdrant client waits between tries to
// reconnect at 2 s. gRPC's default backoff grows to 120 s (1 s, 1.6 s, 2.6 s,
// ... with jitter), so a client that lost Qdrant for 30 s would next try about
// 17 s after it came back, and the pipeline would sit out that time with its
// breaker's probes failing fast; measured with faults-spool on the engine
// server (RTO past the end of the load). 2 s keeps a reconnect within 2 s of
// Qdrant's return at the cost of a dial every 2 s while it is gone.
var qdrantConnectParams = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
	MinConnectTimeout: 5 * time.Second,
}

func newQdrantClient(env *Env, skipCompat bool, pool uint) (*qdrant.Client, error) {
	opts := []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxQdrantMessageSize),
		grpc.MaxCallSendMsgSize(MaxQdrantMessageSize),
	), grpc.WithChainUnaryInterceptor(classUnreachableRPC), grpc.WithConnectParams(qdrantConnectParams)}
	c, err := qdrant.NewClient(&qdrant.Config{
		Host:                   env.QdrantHost,
		Port:                   env.QdrantPort,
		GrpcOptions:            append(opts, env.QdrantDialOptions...),
		SkipCompatibilityCheck: skipCompat,
		PoolSize:               pool,
	})
	if err != nil {
		return nil, fmt.Errorf("infra: qdrant client for %s: %w", env.QdrantAddr(), err)
	}
	return c, nil
}
