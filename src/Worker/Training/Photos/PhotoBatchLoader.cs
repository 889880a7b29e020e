namespace MmCluster.Worker.Training.Photos;

/// <summary>
/// Decodes photos into batches on <c>threads</c> dedicated threads with bounded memory: at most <c>inFlight</c> batch
/// buffers exist (each one contiguous float array of B·3·S·S on the pinned object heap, so native code, a tensor or a
/// CUDA copy can read it where it lies), and a thread waits before starting an image of a batch whose buffer the
/// consumer still holds. Threads take images one at a time in sample order, so batches fill in order and the last
/// one does not wait on a single thread; each image lands in its own slot, so the order within a batch is the
/// samples' order whatever thread decoded it. The first decode error stops the loader and is rethrown to the consumer.
/// </summary>
/// <remarks>
/// TorchSharp's CPU build has no page-locked (CUDA "pinned") host memory: <c>pin_memory()</c> needs CUDA. Pinned here
/// means not moved by the GC; a CUDA build would page-lock these buffers once (issue 17, the GPU path).
/// </remarks>
public sealed class PhotoBatchLoader : IDisposable
{
    private readonly PhotoDecoder decoder;
    private readonly IReadOnlyList<PhotoSample> samples;
    private readonly int batchSize;
    private readonly Slot[] slots;
    private readonly Thread[] workers;
    private readonly object gate = new();   // Monitor: workers and the consumer wait on it
    private readonly int batches;
    private int nextSample;
    private bool stopping;
    private Exception? failure;

    public PhotoBatchLoader(PhotoDecoder decoder, IReadOnlyList<PhotoSample> samples, int batchSize, int threads, int inFlight = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inFlight, 1);
        (this.decoder, this.samples, this.batchSize) = (decoder, samples, batchSize);
        batches = (samples.Count + batchSize - 1) / batchSize;
        slots = new Slot[Math.Min(inFlight, Math.Max(batches, 1))];
        for (var s = 0; s < slots.Length; s++)
        {
            slots[s] = new Slot(GC.AllocateUninitializedArray<float>(batchSize * decoder.ValuesPerImage, pinned: true)) { Batch = s, Remaining = BatchCount(s) };
        }
        workers = new Thread[threads];
        for (var t = 0; t < threads; t++)
        {
            workers[t] = new Thread(Work) { IsBackground = true, Name = $"photo-decode-{t}" };
            workers[t].Start();
        }
    }

    public int Batches => batches;

    /// <summary>Batch buffers that exist at once (the memory bound: this many x B·3·S·S floats).</summary>
    public int BuffersInFlight => slots.Length;

    /// <summary>The batches in order; dispose each before asking for the one <c>inFlight</c> further on.</summary>
    public IEnumerable<PhotoBatch> ReadAll()
    {
        for (var b = 0; b < batches; b++)
        {
            var slot = slots[b % slots.Length];
            lock (gate)
            {
                while (failure is null && !(slot.Batch == b && slot.Remaining == 0))
                {
                    Monitor.Wait(gate);
                }
                if (failure is not null)
                {
                    throw new InvalidDataException(failure.Message, failure);
                }
            }
            yield return new PhotoBatch(b, b * batchSize, BatchCount(b), slot.Pixels, decoder.Size, Release);
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);
        }
        foreach (var worker in workers)
        {
            worker.Join();
        }
    }

    private int BatchCount(int batch) => Math.Min(batchSize, samples.Count - (batch * batchSize));

    private void Release(PhotoBatch batch)
    {
        lock (gate)
        {
            var slot = slots[batch.Index % slots.Length];
            slot.Batch = batch.Index + slots.Length;
            slot.Remaining = slot.Batch < batches ? BatchCount(slot.Batch) : 0;
            Monitor.PulseAll(gate);
        }
    }

    private void Work()
    {
        var perImage = decoder.ValuesPerImage;
        while (true)
        {
            var i = Interlocked.Increment(ref nextSample) - 1;
            if (i >= samples.Count)
            {
                return;
            }
            var batch = i / batchSize;
            var slot = slots[batch % slots.Length];
            lock (gate)
            {
                while (!stopping && failure is null && slot.Batch != batch)
                {
                    Monitor.Wait(gate);
                }
                if (stopping || failure is not null)
                {
                    return;
                }
            }
            try
            {
                var sample = samples[i];
                decoder.Decode(sample.Encoded.Span, slot.Pixels.AsSpan((i - (batch * batchSize)) * perImage, perImage), sample.Key, sample.Crop);
            }
            catch (Exception error)
            {
                lock (gate)
                {
                    failure ??= error;
                    Monitor.PulseAll(gate);
                }
                return;
            }
            lock (gate)
            {
                if (--slot.Remaining == 0)
                {
                    Monitor.PulseAll(gate);
                }
            }
        }
    }

    private sealed class Slot(float[] pixels)
    {
        public float[] Pixels { get; } = pixels;

        public int Batch { get; set; }

        public int Remaining { get; set; }
    }
}
