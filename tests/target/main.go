// pprofd-demo-target: a small Go service for pprofd's tests and quick start.
// It serves net/http/pprof on -addr and keeps itself busy with CPU work,
// allocations, mutex contention, channel blocking, network I/O and syscalls,
// so that every profile type and the execution trace have something to show.
// Standard library only (builds with Debian's golang-1.19-go, offline).
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	addr     = flag.String("addr", "127.0.0.1:6060", "listen address")
	slowness = flag.Duration("slow", 3*time.Second, "delay added by the /slow/ prefix")
	cpuLoad  = flag.Float64("cpu", 0.2, "fraction of one core to burn")
	readyFd  = flag.String("ready-file", "", "write the listen address to this file once serving")
)

var sink []byte

// spin burns CPU in a way that shows up as one function in CPU profiles.
func spin(d time.Duration) uint64 {
	var x uint64 = 1
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	return x
}

func cpuWorker() {
	on := time.Duration(float64(10*time.Millisecond) * *cpuLoad)
	off := 10*time.Millisecond - on
	for {
		spin(on)
		time.Sleep(off)
	}
}

// allocWorker allocates about 20 MB/s: enough for regular GCs in a trace
// without turning the demo into a GC benchmark.
func allocWorker() {
	ring := make([][]byte, 64)
	for i := 0; ; i++ {
		ring[i%len(ring)] = make([]byte, 16<<10)
		if i%100 == 0 {
			sink = make([]byte, 1<<20)
		}
		time.Sleep(time.Millisecond)
	}
}

var mu sync.Mutex
var shared int

func mutexWorker() {
	for {
		mu.Lock()
		shared++
		spin(200 * time.Microsecond)
		mu.Unlock()
		time.Sleep(100 * time.Microsecond)
	}
}

func chanProducer(ch chan<- int) {
	for i := 0; ; i++ {
		time.Sleep(2 * time.Millisecond)
		ch <- i
	}
}

func chanConsumer(ch <-chan int) {
	for v := range ch {
		shared += v & 1
	}
}

// netEcho runs a loopback echo server and a client, for network wait.
func netEcho() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) { io.Copy(c, c) }(c)
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 64)
	for {
		time.Sleep(5 * time.Millisecond)
		c.Write(buf)
		io.ReadFull(c, buf)
	}
}

// syscallSleeper makes blocking syscalls.
func syscallSleeper() {
	for {
		ts := syscall.Timespec{Nsec: 3e6}
		syscall.Nanosleep(&ts, nil)
	}
}

var openConns = pprof.NewProfile("pprofd.demo.conns")

func main() {
	flag.Parse()
	runtime.SetBlockProfileRate(10000)
	runtime.SetMutexProfileFraction(5)

	ch := make(chan int)
	go cpuWorker()
	go allocWorker()
	for i := 0; i < 4; i++ {
		go mutexWorker()
	}
	go chanProducer(ch)
	go chanConsumer(ch)
	go netEcho()
	go syscallSleeper()
	var conn struct{ id int }
	openConns.Add(&conn, 0)

	// /slow/<anything> delays, then serves the same pprof handlers: a target
	// that is slower than pprofd's timeout.
	http.HandleFunc("/slow/", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(*slowness)
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimPrefix(r.URL.Path, "/slow")
		http.DefaultServeMux.ServeHTTP(w, r2)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *readyFd != "" {
		os.WriteFile(*readyFd, []byte(ln.Addr().String()), 0o644)
	}
	fmt.Fprintf(os.Stderr, "pprofd-demo-target: serving net/http/pprof on http://%s/debug/pprof/\n", ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		os.Exit(0)
	}()
	log.Fatal(http.Serve(ln, nil))
}
