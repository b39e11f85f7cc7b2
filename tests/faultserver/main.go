// pprofd-faultserver: a misbehaving profile server for pprofd's
// fault-injection tests. Every path under /fault/ serves one kind of bad
// answer; the healthy profiles of the process itself stay available under
// /debug/pprof/. Standard library only (Go 1.19), 127.0.0.1 only.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"math/rand"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"strconv"
	"time"
)

var (
	addr      = flag.String("addr", "127.0.0.1:0", "plain HTTP listen address")
	tlsAddr   = flag.String("tls-addr", "", "HTTPS listen address (needs -cert and -key)")
	certFile  = flag.String("cert", "", "TLS certificate")
	keyFile   = flag.String("key", "", "TLS key")
	profile   = flag.String("profile", "", "a real gzip'd pprof profile to serve truncated/corrupted")
	traceFile = flag.String("trace", "", "a real execution trace to serve with a corrupted batch")
	readyFile = flag.String("ready-file", "", "write 'http=ADDR tls=ADDR' here once serving")
	bombMiB   = flag.Int("bomb-mib", 2048, "size the gzip bomb inflates to, in MiB")
)

var profileBytes, traceBytes, bomb, zeroBomb []byte

// makeBomb returns a gzip stream that inflates to about mib MiB: 64 MiB
// members of zeros, concatenated (gzip readers, Go's and zlib users alike,
// read every member), so it is built in a fraction of a second. With
// prefix, the first member starts with those bytes.
func makeBomb(mib int, prefix []byte) []byte {
	const memberMiB = 64
	member := func(head []byte, n int) []byte {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		w.Write(head)
		zero := make([]byte, 1<<20)
		for i := 0; i < n; i++ {
			w.Write(zero)
		}
		w.Close()
		return b.Bytes()
	}
	if mib < memberMiB {
		return member(prefix, mib)
	}
	out := member(prefix, memberMiB)
	zeros := member(nil, memberMiB)
	for left := mib - memberMiB; left >= memberMiB; left -= memberMiB {
		out = append(out, zeros...)
	}
	return out
}

// protoBombPrefix starts a profile.proto message: a string_table entry
// (field 6) declared to hold all the zeros that follow, so a format sniffer
// sees a profile and only a full decode meets the size.
func protoBombPrefix(mib int) []byte {
	b := []byte{0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x32} // sample_type{1,2}, string_table
	n := uint64(mib) << 20
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}

func octet(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/octet-stream")
}

// raw writes an arbitrary HTTP response on the hijacked connection.
func raw(w http.ResponseWriter, f func(c net.Conn)) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "no hijack", 500)
		return
	}
	c, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	buf.Flush()
	f(c)
	c.Close()
}

func routes(mux *http.ServeMux) {
	mux.HandleFunc("/fault/500", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal error: database is on fire", http.StatusInternalServerError)
	})
	mux.HandleFunc("/fault/404", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Unknown profile", http.StatusNotFound)
	})
	mux.HandleFunc("/fault/busy", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Could not enable CPU profiling: cpu profiling already in use", 500)
	})
	mux.HandleFunc("/fault/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html>\n<head>\n<title>/debug/pprof/</title>\n</head>\n<body>\n/debug/pprof/<br>\n</body>\n</html>\n")
	})
	mux.HandleFunc("/fault/stall", func(w http.ResponseWriter, r *http.Request) {
		octet(w)
		w.Write([]byte{0x1f, 0x8b, 0x08})
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/fault/slowloris", func(w http.ResponseWriter, r *http.Request) {
		octet(w)
		for i := 0; ; i++ {
			if _, err := w.Write([]byte{byte(i)}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
	mux.HandleFunc("/fault/drop", func(w http.ResponseWriter, r *http.Request) {
		raw(w, func(c net.Conn) {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n")
			c.Write(profileBytes[:len(profileBytes)/2])
		})
	})
	mux.HandleFunc("/fault/wronglen", func(w http.ResponseWriter, r *http.Request) {
		// Declares fewer bytes than it sends: the client must stop at
		// Content-Length, leaving a truncated profile.
		raw(w, func(c net.Conn) {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(profileBytes)/3)
			c.Write(profileBytes)
		})
	})
	mux.HandleFunc("/fault/truncgzip", func(w http.ResponseWriter, r *http.Request) {
		octet(w)
		w.Write(profileBytes[:len(profileBytes)*2/3])
	})
	mux.HandleFunc("/fault/gzipbomb", func(w http.ResponseWriter, r *http.Request) {
		// Looks like a gzip'd profile; inflates to -bomb-mib MiB.
		octet(w)
		w.Write(bomb)
	})
	mux.HandleFunc("/fault/zerobomb", func(w http.ResponseWriter, r *http.Request) {
		// Plain zeros: not even the first bytes look like a profile.
		octet(w)
		w.Write(zeroBomb)
	})
	mux.HandleFunc("/fault/huge", func(w http.ResponseWriter, r *http.Request) {
		// Streams (no Content-Length) far more than any sane size limit.
		octet(w)
		chunk := bytes.Repeat([]byte{0x1f, 0x8b, 0x08, 0}, 16384)
		for i := 0; i < 4096; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/fault/hugelen", func(w http.ResponseWriter, r *http.Request) {
		// Announces its size: a client can refuse it before the body.
		octet(w)
		w.Header().Set("Content-Length", strconv.Itoa(4<<20))
		w.Write(make([]byte, 4<<20))
	})
	mux.HandleFunc("/fault/random", func(w http.ResponseWriter, r *http.Request) {
		octet(w)
		b := make([]byte, 64<<10)
		rand.New(rand.NewSource(42)).Read(b)
		w.Write(b)
	})
	mux.HandleFunc("/fault/garbageproto", func(w http.ResponseWriter, r *http.Request) {
		// A valid gzip stream whose content is a protobuf-looking mess: a
		// sample_type with an out-of-range string index, a location id that
		// points nowhere, a huge declared length.
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		gz.Write([]byte{0x0a, 0x04, 0x08, 0x7f, 0x10, 0x7e}) // sample_type{type:127, unit:126}
		gz.Write([]byte{0x12, 0x04, 0x08, 0x99, 0x01, 0x10}) // sample{location_id:153, ...}
		gz.Write([]byte{0x2a, 0xff, 0xff, 0xff, 0x0f, 0x41}) // string_table with an absurd length
		gz.Close()
		octet(w)
		w.Write(b.Bytes())
	})
	mux.HandleFunc("/fault/badtrace", func(w http.ResponseWriter, r *http.Request) {
		// A real trace with garbage written over one batch in the middle.
		t := append([]byte(nil), traceBytes...)
		if len(t) > 1000 {
			mid := len(t) / 2
			rnd := rand.New(rand.NewSource(7))
			for i := mid; i < mid+512 && i < len(t); i++ {
				t[i] = byte(rnd.Intn(256))
			}
		}
		octet(w)
		w.Write(t)
	})
	mux.HandleFunc("/fault/truncatedtrace", func(w http.ResponseWriter, r *http.Request) {
		octet(w)
		w.Write(traceBytes[:len(traceBytes)/2])
	})
	mux.HandleFunc("/fault/bytes", func(w http.ResponseWriter, r *http.Request) {
		// ?n=N: N bytes of a valid-looking gzip header then zeros.
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		octet(w)
		w.Write(make([]byte, n))
	})
}

func main() {
	flag.Parse()
	var err error
	if *profile != "" {
		if profileBytes, err = os.ReadFile(*profile); err != nil {
			log.Fatal(err)
		}
	} else {
		profileBytes = []byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3}
	}
	if *traceFile != "" {
		if traceBytes, err = os.ReadFile(*traceFile); err != nil {
			log.Fatal(err)
		}
	} else {
		traceBytes = []byte("go 1.19 trace\x00\x00\x00")
	}
	bomb = makeBomb(*bombMiB, protoBombPrefix(*bombMiB))
	zeroBomb = makeBomb(*bombMiB, nil)

	mux := http.DefaultServeMux
	routes(mux)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ready := "http=" + ln.Addr().String()
	go func() { log.Fatal(http.Serve(ln, mux)) }()
	if *tlsAddr != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			log.Fatal(err)
		}
		tln, err := tls.Listen("tcp", *tlsAddr, &tls.Config{Certificates: []tls.Certificate{cert}})
		if err != nil {
			log.Fatal(err)
		}
		ready += " tls=" + tln.Addr().String()
		go func() { log.Fatal(http.Serve(tln, mux)) }()
	}
	if *readyFile != "" {
		os.WriteFile(*readyFile+".tmp", []byte(ready), 0o644)
		os.Rename(*readyFile+".tmp", *readyFile)
	}
	fmt.Fprintf(os.Stderr, "pprofd-faultserver: %s (gzip bomb %d bytes -> %d MiB)\n", ready, len(bomb), *bombMiB)
	select {}
}
