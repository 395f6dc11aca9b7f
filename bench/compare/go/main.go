// Command xds-peer serves, with go-control-plane's snapshot cache and ADS
// server, exactly the resources meshlite serves for the push-bench mesh: it
// reads the snapshot file meshlite exported (bench/compare/snapshot-file.ts
// describes the format), holds both states of the mesh, and serves SotW and
// delta ADS over TLS (server side only: the bearer token the bench clients
// send is not checked; the stream gets the snapshot of its node id).
//
// The control address answers GET /ready, POST /swap?state=N (every node's
// snapshot set to state N; answers once all are set), POST /gc (a collection,
// and freed memory returned to the OS) and GET /stats (CPU time and RSS read
// from /proc/self).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	// The resource types meshlite serves, registered for Any.UnmarshalNew.
	_ "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

const magic = "MLXDSNAP"

type reader struct {
	buf []byte
	pos int
}

func (r *reader) u32() uint32 {
	if r.pos+4 > len(r.buf) {
		panic(errors.New("snapshot file truncated"))
	}
	n := binary.LittleEndian.Uint32(r.buf[r.pos:])
	r.pos += 4
	return n
}

func (r *reader) bytes() []byte {
	n := int(r.u32())
	if r.pos+n > len(r.buf) {
		panic(errors.New("snapshot file truncated"))
	}
	out := r.buf[r.pos : r.pos+n]
	r.pos += n
	return out
}

func (r *reader) str() string { return string(r.bytes()) }

type nodeSnapshot struct {
	id       string
	snapshot *cachev3.Snapshot
}

// load reads every state. The snapshot cache of v0.14.0 takes resources as
// proto messages only (it marshals them itself, per response, into a type it
// keeps private), so each Any is unmarshalled into its concrete type once
// here. Each distinct resource becomes one proto message
// and each distinct (type, version) one Resources group, shared by every node
// that gets it, as the meshlite side shares its encodings.
func load(path string) (states [][]nodeSnapshot, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(buf, []byte(magic)) {
		return nil, errors.New("not a meshlite snapshot file (bad magic)")
	}
	r := &reader{buf: buf, pos: len(magic)}
	if v := r.u32(); v != 1 {
		return nil, fmt.Errorf("snapshot file format %d, expected 1", v)
	}
	blobs := make([]types.Resource, r.u32())
	for i := range blobs {
		a := &anypb.Any{}
		if err := proto.Unmarshal(r.bytes(), a); err != nil {
			return nil, fmt.Errorf("blob %d: %w", i, err)
		}
		m, err := a.UnmarshalNew()
		if err != nil {
			return nil, fmt.Errorf("blob %d (%s): %w", i, a.TypeUrl, err)
		}
		blobs[i] = m
	}
	groups := map[string]cachev3.Resources{}
	for s := r.u32(); s > 0; s-- {
		r.str() // the state's label
		nodes := make([]nodeSnapshot, r.u32())
		for n := range nodes {
			id := r.str()
			snap := &cachev3.Snapshot{}
			for t := r.u32(); t > 0; t-- {
				typeURL := r.str()
				version := r.str()
				count := int(r.u32())
				idx := cachev3.GetResponseType(typeURL)
				if idx == types.UnknownType {
					return nil, fmt.Errorf("unknown type %s", typeURL)
				}
				key := typeURL + " " + version
				group, shared := groups[key]
				items := make(map[string]types.ResourceWithTTL, count)
				for k := 0; k < count; k++ {
					name := r.str()
					r.str() // the resource's version: go-control-plane hashes its own for delta
					i := r.u32()
					if int(i) >= len(blobs) {
						return nil, fmt.Errorf("blob %d of %d", i, len(blobs))
					}
					if !shared {
						items[name] = types.ResourceWithTTL{Resource: blobs[i]}
					}
				}
				if !shared {
					group = cachev3.Resources{Version: version, Items: items}
					groups[key] = group
				}
				snap.Resources[idx] = group
			}
			nodes[n] = nodeSnapshot{id: id, snapshot: snap}
		}
		states = append(states, nodes)
	}
	if r.pos != len(buf) {
		return nil, errors.New("snapshot file has trailing bytes")
	}
	return states, nil
}

func procStats() (cpuMs float64, rssBytes int64) {
	if stat, err := os.ReadFile("/proc/self/stat"); err == nil {
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		utime, _ := strconv.ParseFloat(fields[11], 64)
		stime, _ := strconv.ParseFloat(fields[12], 64)
		cpuMs = (utime + stime) * 10 // USER_HZ is 100 on Linux
	}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
				rssBytes = kb * 1024
			}
		}
	}
	return cpuMs, rssBytes
}

func main() {
	snapshots := flag.String("snapshots", "", "snapshot file exported by meshlite")
	certFile := flag.String("cert", "", "TLS certificate chain (PEM)")
	keyFile := flag.String("key", "", "TLS private key (PEM)")
	adsAddr := flag.String("ads", "127.0.0.1:0", "ADS listen address")
	controlAddr := flag.String("control", "127.0.0.1:0", "control HTTP listen address")
	flag.Parse()
	if *snapshots == "" || *certFile == "" || *keyFile == "" {
		fmt.Fprintln(os.Stderr, "usage: xds-peer -snapshots FILE -cert PEM -key PEM [-ads ADDR] [-control ADDR]")
		os.Exit(2)
	}
	states, err := load(*snapshots)
	if err != nil {
		fmt.Fprintf(os.Stderr, "xds-peer: %s: %v\n", *snapshots, err)
		os.Exit(1)
	}
	ctx := context.Background()
	// ads=false: in ADS mode the cache answers a request for named resources
	// only when it names every resource of that type in the snapshot, and the
	// simulated Envoys subscribe to the route "http_proxy" alone while the
	// snapshot (like meshlite's) also holds the inbound route configurations.
	// Without it, the cache answers with the resources named, as meshlite does.
	// Responses are still ordered and sent on the one ADS stream.
	snapshotCache := cachev3.NewSnapshotCache(false, cachev3.IDHash{}, quiet{})
	swap := func(n int) error {
		if n < 0 || n >= len(states) {
			return fmt.Errorf("no state %d", n)
		}
		for _, node := range states[n] {
			if err := snapshotCache.SetSnapshot(ctx, node.id, node.snapshot); err != nil {
				return err
			}
		}
		return nil
	}
	if err := swap(0); err != nil {
		fmt.Fprintf(os.Stderr, "xds-peer: %v\n", err)
		os.Exit(1)
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "xds-peer: TLS material: %v\n", err)
		os.Exit(1)
	}
	grpcServer := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})),
		grpc.MaxRecvMsgSize(16*1024*1024),
	)
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(grpcServer, serverv3.NewServer(ctx, snapshotCache, nil))
	adsListener, err := net.Listen("tcp", *adsAddr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "xds-peer: listen %s: %v\n", *adsAddr, err)
		os.Exit(1)
	}
	controlListener, err := net.Listen("tcp", *controlAddr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "xds-peer: listen %s: %v\n", *controlAddr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("POST /swap", func(w http.ResponseWriter, req *http.Request) {
		n, err := strconv.Atoi(req.URL.Query().Get("state"))
		if err == nil {
			err = swap(n)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("POST /gc", func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		debug.FreeOSMemory()
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		cpuMs, rss := procStats()
		fmt.Fprintf(w, "{\"cpuMs\":%g,\"rssBytes\":%d,\"gomaxprocs\":%d}\n", cpuMs, rss, runtime.GOMAXPROCS(0))
	})
	go func() { log.Fatal(http.Serve(controlListener, mux)) }()
	// The bench reads the bound addresses from this line.
	fmt.Printf("listening ads=%s control=%s\n", adsListener.Addr(), controlListener.Addr())
	if err := grpcServer.Serve(adsListener); err != nil {
		fmt.Fprintf(os.Stderr, "xds-peer: %v\n", err)
		os.Exit(1)
	}
}

// quiet drops the cache's debug and info logs; warnings and errors go to stderr.
type quiet struct{}

func (quiet) Debugf(string, ...any) {}
func (quiet) Infof(string, ...any)  {}
func (quiet) Warnf(format string, args ...any) {
	log.Printf("warn: "+format, args...)
}
func (quiet) Errorf(format string, args ...any) {
	log.Printf("error: "+format, args...)
}
