package childproc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/vectorstream/vectorstream/internal/measure"
	"github.com/vectorstream/vectorstream/pipeline"
)

// Client reads a pipeline process's statistics over its health address. Safe for
// concurrent use.
type Client struct {
	base string
	hc   *http.Client
}

// ClientOpt configures a Client.
type ClientOpt interface{ apply(*Client) }

type clientOptFunc func(*Client)

func (f clientOptFunc) apply(c *Client) { f(c) }

// WithHTTPClient makes the Client send its requests with hc, instead of an
// http.Client with a 10 s timeout.
func WithHTTPClient(hc *http.Client) ClientOpt {
	return clientOptFunc(func(c *Client) { c.hc = hc })
}

// NewClient returns a Client of the pipeline process whose health server listens on
// addr (host:port, as announced).
func NewClient(addr string, opts ...ClientOpt) *Client {
	c := &Client{base: "http://" + addr, hc: &http.Client{Timeout: 10 * time.Second}}
	for _, o := range opts {
		o.apply(c)
	}
	return c
}

// Ready reports whether the pipeline answers PathReady with 2xx: it joined its group
// and no breaker is OPEN.
func (c *Client) Ready(ctx context.Context) bool {
	return c.do(ctx, http.MethodGet, PathReady, nil) == nil
}

// MeasureFrom makes the pipeline's histograms ignore events intended before t.
func (c *Client) MeasureFrom(ctx context.Context, t time.Time) error {
	q := url.Values{ParamFrom: {strconv.FormatInt(t.UnixNano(), 10)}}
	return c.do(ctx, http.MethodPost, PathMeasure+"?"+q.Encode(), nil)
}

// Counters returns the pipeline's running totals.
func (c *Client) Counters(ctx context.Context) (pipeline.Counters, error) {
	var out pipeline.Counters
	err := c.do(ctx, http.MethodGet, PathCounters, &out)
	return out, err
}

// Interval returns the running totals, the e2e histogram of the events acknowledged
// since the previous call (the pipeline starts a new interval) and the resource use of
// the pipeline's process.
func (c *Client) Interval(ctx context.Context) (pipeline.Counters, *hdrhistogram.Histogram, measure.ProcessSample, error) {
	var iv RemoteInterval
	if err := c.do(ctx, http.MethodPost, PathInterval, &iv); err != nil {
		return pipeline.Counters{}, nil, measure.ProcessSample{}, err
	}
	h, err := hdrhistogram.Decode([]byte(iv.E2E))
	if err != nil {
		return iv.Counters, nil, iv.Process, fmt.Errorf("pipeline process: %s: e2e histogram: %w", PathInterval, err)
	}
	return iv.Counters, h, iv.Process, nil
}

// Final returns the cumulative histograms, counters and batch commits.
func (c *Client) Final(ctx context.Context) (RemoteStats, error) {
	var st RemoteStats
	err := c.do(ctx, http.MethodGet, PathStats, &st)
	return st, err
}

// do sends one request and decodes a 2xx answer's JSON body into out (unless nil).
func (c *Client) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("pipeline process: %s %s: %w", method, path, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("pipeline process: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("pipeline process: %s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("pipeline process: %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(body))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("pipeline process: %s %s: decode: %w", method, path, err)
	}
	return nil
}
