using System.Runtime.ExceptionServices;

namespace MmCluster.Worker.Training.Photos;

/// <summary>
/// The decode threads of a worker's feed (a stage's <c>decode_threads</c>): <see cref="Threads"/> dedicated threads that
/// run one batch's per-image decodes while the feed's task waits, so the memory in use is the batch's own pixel buffer
/// plus each thread's decode scratch (<see cref="PhotoDecoder"/>), whatever the thread count. Threads take images one at
/// a time in order, and each image is written to its own slot by the work given, so the batch does not depend on which
/// thread decoded what. Dedicated threads, not the thread pool: Akka's and gRPC's work stays on the pool, and a decode
/// never waits for the pool to grow.
/// </summary>
public sealed class DecodePool : IDisposable
{
    private readonly object gate = new();
    private readonly Thread[] workers;
    private Action<int>? work;
    private int count;
    private int next;
    private int remaining;
    private Exception? failure;
    private bool stopping;

    public DecodePool(int threads, string name = "feed-decode")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        workers = new Thread[threads];
        for (var t = 0; t < threads; t++)
        {
            workers[t] = new Thread(Loop) { IsBackground = true, Name = $"{name}-{t}" };
            workers[t].Start();
        }
    }

    public int Threads => workers.Length;

    /// <summary>
    /// Calls <paramref name="body"/> once for each of 0..<paramref name="items"/>-1 on the pool's threads and returns when
    /// every call has returned; then throws the first call's exception, if one threw (the other items still run). One
    /// caller at a time.
    /// </summary>
    public void Run(int items, Action<int> body)
    {
        if (items == 0)
        {
            return;
        }
        Exception? error;
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(stopping, this);
            if (work is not null)
            {
                throw new InvalidOperationException("a decode pool runs one batch at a time");
            }
            (work, count, next, remaining, failure) = (body, items, 0, items, null);
            Monitor.PulseAll(gate);
            while (remaining > 0)
            {
                Monitor.Wait(gate);
            }
            (work, error, failure) = (null, failure, null);
        }
        if (error is not null)
        {
            ExceptionDispatchInfo.Throw(error);
        }
    }

    /// <summary>Lets the threads finish a batch under way, then ends them.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);
        }
        Array.ForEach(workers, w => w.Join());
    }

    private void Loop()
    {
        while (true)
        {
            Action<int> body;
            int item;
            lock (gate)
            {
                // A batch under way is finished even when the pool is stopping, so its caller never waits forever.
                while (work is null || next >= count)
                {
                    if (stopping)
                    {
                        return;
                    }
                    Monitor.Wait(gate);
                }
                (body, item) = (work!, next++);
            }
            Exception? error = null;
            try
            {
                body(item);
            }
            catch (Exception e)
            {
                error = e;
            }
            lock (gate)
            {
                failure ??= error;
                if (--remaining == 0)
                {
                    Monitor.PulseAll(gate);
                }
            }
        }
    }
}
