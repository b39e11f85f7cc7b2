// tracegen writes a Go execution trace of a small synthetic workload, for
// pprofd's tests and benchmarks. Built with the Go toolchain the trace
// format should come from (Debian's Go 1.19 gives "go 1.19 trace"):
//
//	go run tracegen.go -o FILE [-d 300ms] [-cpuprofile] [-annotate]
//
// Each worker has its own start function, so the goroutine analysis shows
// one group per blocking category: mutex and channel waits, loopback TCP
// (network wait), blocking pipe reads (syscalls), sleeps, preemption and
// allocation-driven GC. With -cpuprofile a CPU profile runs while tracing
// (the trace then contains CPU samples, as when a target is busy with a
// profile); with -annotate the workers use runtime/trace tasks, regions
// and logs.
package main

import (
	"context"
	"flag"
	"io"
	"log"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"syscall"
	"time"
)

var (
	annotate = flag.Bool("annotate", false, "emit runtime/trace tasks, regions and logs")
	stop     = make(chan struct{})
	wg       sync.WaitGroup
	mu       sync.Mutex
	ch       = make(chan int)
	sink     [][]byte
	pipeFds  [2]int
)

func spin(d time.Duration) {
	for t := time.Now(); time.Since(t) < d; {
	}
}

func stopped() bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

func region(ctx context.Context, name string, fn func()) {
	if *annotate {
		trace.WithRegion(ctx, name, fn)
	} else {
		fn()
	}
}

func mutexWorker(ctx context.Context) {
	defer wg.Done()
	for !stopped() {
		mu.Lock()
		spin(20 * time.Microsecond)
		mu.Unlock()
		time.Sleep(50 * time.Microsecond)
	}
}

func producer(ctx context.Context) {
	defer wg.Done()
	for !stopped() {
		select {
		case ch <- 1:
		case <-stop:
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func consumer(ctx context.Context) {
	defer wg.Done()
	for !stopped() {
		select {
		case <-ch:
		case <-stop:
		}
	}
}

func netClient(ctx context.Context, addr string) {
	defer wg.Done()
	for !stopped() {
		region(ctx, "roundtrips", func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			buf := make([]byte, 64)
			for i := 0; i < 20; i++ {
				c.Write(buf)
				io.ReadFull(c, buf)
			}
			c.Close()
		})
	}
}

func pipeWriter(ctx context.Context) {
	defer wg.Done()
	for !stopped() {
		time.Sleep(2 * time.Millisecond)
		syscall.Write(pipeFds[1], []byte{1})
	}
}

func pipeReader(ctx context.Context) {
	defer wg.Done()
	for !stopped() {
		var b [1]byte
		syscall.Read(pipeFds[0], b[:]) // blocks in the kernel
	}
}

func allocator(ctx context.Context) {
	defer wg.Done()
	for i := 0; !stopped(); i++ {
		region(ctx, "alloc", func() {
			sink = append(sink, make([]byte, 64<<10))
			if len(sink) > 256 {
				sink = sink[:0]
			}
		})
		if *annotate && i%64 == 0 {
			trace.Log(ctx, "alloc", "64KiB x 64")
		}
		time.Sleep(20 * time.Microsecond)
	}
}

func spinner(ctx context.Context) {
	defer wg.Done()
	for !stopped() {
		region(ctx, "spin", func() { spin(200 * time.Microsecond) })
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func main() {
	out := flag.String("o", "trace.out", "trace output file")
	dur := flag.Duration("d", 300*time.Millisecond, "tracing duration")
	cpu := flag.Bool("cpuprofile", false, "run a CPU profile while tracing")
	flag.Parse()

	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if *cpu {
		if err := pprof.StartCPUProfile(io.Discard); err != nil {
			log.Fatal(err)
		}
	}
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
			go io.Copy(c, c)
		}
	}()
	if err := syscall.Pipe(pipeFds[:]); err != nil {
		log.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	ctx, task := context.Background(), (*trace.Task)(nil)
	if *annotate {
		ctx, task = trace.NewTask(ctx, "workload")
	}
	wg.Add(11)
	for i := 0; i < 4; i++ {
		go mutexWorker(ctx)
	}
	go producer(ctx)
	go consumer(ctx)
	go netClient(ctx, ln.Addr().String())
	go pipeWriter(ctx)
	go pipeReader(ctx)
	go allocator(ctx)
	go spinner(ctx)
	time.Sleep(*dur)
	close(stop)
	syscall.Write(pipeFds[1], []byte{1})
	wg.Wait()
	if task != nil {
		task.End()
	}
	trace.Stop()
	if *cpu {
		pprof.StopCPUProfile()
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
