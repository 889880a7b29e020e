using System.Security.Cryptography;
using System.Text;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Training;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Recovery;

/// <summary>
/// The full training state of a rank as <see cref="TrainingStateTransfer"/> moves it, one entry per tensor in a fixed order:
/// the model's state_dict (every dtype, trainable and frozen), per trainable parameter AdamW's <c>exp_avg</c>,
/// <c>exp_avg_sq</c> (and <c>max_exp_avg_sq</c> with AMSGrad), then AdamW's per-parameter step counts (one int64 tensor) and
/// the generator state. Its text (name, dtype, shape per line) and fingerprint are what ranks compare before any byte moves.
/// </summary>
internal sealed class TrainingStateLayout : IDisposable
{
    private const string OptimPrefix = "optim.";
    private readonly List<Entry> entries = [];
    private readonly AdamW.State[] states;
    private readonly Tensor steps;
    private readonly Tensor rng;
    private readonly Generator? generator;

    /// <param name="generator">The generator whose state moves; null: torch's default CPU generator (as the checkpoint).</param>
    public TrainingStateLayout(nn.Module model, IOptimizerState optimizer, Generator? generator)
    {
        this.generator = generator;
        foreach (var (name, tensor) in model.state_dict())
        {
            entries.Add(new Entry(name, tensor));
        }
        var all = optimizer.Optimizer.state_dict().State;
        if (all.Count < optimizer.NamedParameters.Count)
        {
            throw new InvalidOperationException($"AdamW holds state for {all.Count} parameters, the optimizer has {optimizer.NamedParameters.Count}");
        }
        states = new AdamW.State[optimizer.NamedParameters.Count];
        for (var i = 0; i < states.Length; i++)
        {
            var (name, parameter) = optimizer.NamedParameters[i];
            var state = states[i] = (AdamW.State)all[i];
            // TorchSharp's AdamW creates zero moments when it is built; a state without them gets them here, so a rank that
            // never stepped receives the source's moments like any other.
            state.exp_avg ??= zeros_like(parameter).DetachFromDisposeScope();
            state.exp_avg_sq ??= zeros_like(parameter).DetachFromDisposeScope();
            entries.Add(new Entry($"{OptimPrefix}{name}.exp_avg", state.exp_avg));
            entries.Add(new Entry($"{OptimPrefix}{name}.exp_avg_sq", state.exp_avg_sq));
            if (state.max_exp_avg_sq is { } max)
            {
                entries.Add(new Entry($"{OptimPrefix}{name}.max_exp_avg_sq", max));
            }
        }
        steps = tensor(states.Select(s => s.step).ToArray(), dtype: ScalarType.Int64).DetachFromDisposeScope();
        entries.Add(new Entry($"{OptimPrefix}step", steps));
        rng = (generator?.get_state() ?? torch.random.get_rng_state()).DetachFromDisposeScope();
        entries.Add(new Entry("rng_state", rng));
        if (entries.FirstOrDefault(e => e.Bytes > int.MaxValue) is { } huge)
        {
            // Before any collective: ranks of one layout all stop here alike.
            throw new NotSupportedException($"tensor '{huge.Name}' holds {huge.Bytes} bytes; a state transfer moves tensors up to 2 GiB");
        }
        Text = string.Join('\n', entries.Select(e => e.Line));
        Fingerprint = SHA256.HashData(Encoding.UTF8.GetBytes(Text));
        PayloadBytes = entries.Sum(e => e.PaddedBytes);
    }

    public IReadOnlyList<Entry> Entries => entries;

    /// <summary>One line per tensor: <c>name dtype [shape]</c>, tab-separated, in transfer order.</summary>
    public string Text { get; }

    /// <summary>SHA-256 of <see cref="Text"/>.</summary>
    public byte[] Fingerprint { get; }

    /// <summary>The sum of the entries' padded sizes: the bytes one transfer broadcasts.</summary>
    public long PayloadBytes { get; }

    /// <summary>After receiving: hands the received step counts to AdamW and the received state to the generator.</summary>
    public void Apply()
    {
        var received = steps.data<long>().ToArray();
        for (var i = 0; i < states.Length; i++)
        {
            states[i].step = received[i];
        }
        if (generator is null)
        {
            torch.random.set_rng_state(rng);
        }
        else
        {
            generator.set_state(rng);
        }
    }

    public void Dispose()
    {
        foreach (var entry in entries)
        {
            entry.Close(writeBack: false);
        }
        steps.Dispose();
        rng.Dispose();
    }

    /// <summary>One tensor of the state and its place in the byte stream (its bytes, then zeros to a multiple of 4).</summary>
    internal sealed class Entry(string name, Tensor target)
    {
        private Tensor? staging;

        public string Name { get; } = name;

        public string Line { get; } = $"{name}\t{target.dtype}\t[{string.Join(", ", target.shape)}]";

        public long Bytes { get; } = target.numel() * target.element_size();

        public long PaddedBytes => (Bytes + 3) / 4 * 4;

        /// <summary>
        /// The tensor's bytes: its own storage when it is contiguous on the CPU, else a contiguous CPU copy that
        /// <see cref="Close"/> writes back.
        /// </summary>
        public Span<byte> Open()
        {
            if (staging is null)
            {
                using var detached = target.detach();
                using var cpu = detached.cpu();
                staging = cpu.contiguous();
            }
            return staging.bytes;
        }

        /// <summary>Done with this tensor: copies received bytes back unless they were written in place, frees the copy.</summary>
        public void Close(bool writeBack)
        {
            if (staging is null)
            {
                return;
            }
            if (writeBack && !TensorMemory.SameData(staging, target))
            {
                target.copy_(staging);
            }
            staging.Dispose();
            staging = null;
        }
    }
}
