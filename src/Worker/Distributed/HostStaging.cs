using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// Where tensors cross between the compute device and host memory, in one place. Collectives read and write host memory
/// (<see cref="TensorMemory"/>), so on a CUDA device every collective payload goes device → host buffer → collective →
/// host buffer → device, through page-locked buffers that are kept and reused across steps (<see cref="Buffer"/>); and a
/// batch built on the host goes to the device from page-locked memory without blocking (<see cref="ToDevice"/>). On the
/// CPU nothing is staged (collectives run on the tensors' own storage, batches are used where they are) unless
/// <paramref name="forceStaging"/> is set: then the same copies run through plain (unpinned) host buffers, so the specs
/// exercise the staging path on a machine without a GPU. One instance per trainer, used on its training thread; it owns
/// its buffers (<see cref="Dispose"/>).
/// </summary>
public sealed class HostStaging(Device device, bool forceStaging = false) : IDisposable
{
    private readonly Dictionary<string, Tensor> buffers = new(StringComparer.Ordinal);

    /// <summary>No staging: the CPU, as every trainer ran before the GPU path.</summary>
    public static HostStaging Unstaged() => new(CPU);

    /// <summary>Staging for a device by name (<c>cpu</c>, <c>cuda:0</c>, ...).</summary>
    public static HostStaging For(string device, bool forceStaging = false) => new(torch.device(device), forceStaging);

    /// <summary>The device the model and every tensor of a step live on.</summary>
    public Device Device { get; } = device;

    /// <summary>True when tensors pass through host buffers: a device other than the CPU, or staging forced.</summary>
    public bool Stages { get; } = forceStaging || device.type != DeviceType.CPU;

    /// <summary>True when host buffers are page-locked: only for CUDA (a CPU-only libtorch cannot pin memory).</summary>
    public bool Pins { get; } = device.type == DeviceType.CUDA;

    /// <summary>Host buffers allocated so far (kept buffers and <see cref="NewHostBuffer"/>); steady once every size is seen.</summary>
    public int Allocations { get; private set; }

    /// <summary>
    /// A host tensor on <see cref="Device"/>: itself (an alias, no copy) when nothing is staged; else copied from
    /// page-locked memory without blocking (CUDA: <c>pin_memory()</c> then <c>to(device, non_blocking: true)</c>; libtorch
    /// keeps the pinned block until the copy has run), or through a plain host copy when staging is forced on the CPU.
    /// </summary>
    public Tensor ToDevice(Tensor host)
    {
        if (!Stages)
        {
            return host.alias();
        }
        using var staged = Pins ? host.pin_memory() : host.clone();
        return staged.to(Device, non_blocking: Pins);
    }

    /// <summary>A flat float32 host tensor the caller owns and keeps (a gradient bucket): page-locked when <see cref="Pins"/>.</summary>
    public Tensor NewHostBuffer(long elements)
    {
        Allocations++;
        using var scope = NewDisposeScope();
        var buffer = empty(elements, ScalarType.Float32, CPU);
        return (Pins ? buffer.pin_memory() : buffer).DetachFromDisposeScope();
    }

    /// <summary>
    /// A view of the first <paramref name="elements"/> floats of the kept host buffer named <paramref name="slot"/>: the
    /// same buffer at every call, allocated again only when a call needs more than it holds (then at least twice as large,
    /// so a payload whose size varies from step to step, such as the touched rows of an embedding, settles quickly). The
    /// caller disposes the view, never the buffer, and is done with it before asking for the same slot again.
    /// </summary>
    public Tensor Buffer(string slot, long elements)
    {
        if (!buffers.TryGetValue(slot, out var buffer) || buffer.numel() < elements)
        {
            var capacity = buffer is null ? elements : Math.Max(elements, 2 * buffer.numel());
            buffer?.Dispose();
            buffer = NewHostBuffer(capacity);
            buffers[slot] = buffer;
        }
        return buffer.narrow(0, 0, elements);
    }

    /// <summary>Frees the kept buffer of a slot used once (the start-of-stage broadcast), so it holds no memory for the run.</summary>
    public void Release(string slot)
    {
        if (buffers.Remove(slot, out var buffer))
        {
            buffer.Dispose();
        }
    }

    /// <summary>The address of a kept buffer's storage (0 when there is none): the specs' proof of reuse across steps.</summary>
    public unsafe long BufferAddress(string slot)
    {
        if (!buffers.TryGetValue(slot, out var buffer))
        {
            return 0;
        }
        fixed (byte* start = buffer.bytes)
        {
            return (long)start;
        }
    }

    /// <summary>The slots kept so far.</summary>
    public IReadOnlyCollection<string> Slots => buffers.Keys;

    /// <summary>
    /// Runs <paramref name="collective"/> on <paramref name="tensor"/> (contiguous float32 on any device) in place: on its
    /// own storage when nothing is staged, else on the slot's host buffer, copied from the tensor before and back after.
    /// </summary>
    public void InPlace(Tensor tensor, string slot, Func<Memory<float>, Task> collective)
    {
        if (!Stages)
        {
            TensorCollectives.Wait(() => collective(TensorMemory.Of(tensor)));
            return;
        }
        using var host = Buffer(slot, tensor.numel());
        using (var flat = tensor.reshape(-1))
        {
            host.copy_(flat);                                          // device -> host
        }
        TensorCollectives.Wait(() => collective(TensorMemory.Of(host)));
        using var shaped = host.view(tensor.shape);
        tensor.copy_(shaped);                                          // host -> device
    }

    public void Dispose()
    {
        foreach (var buffer in buffers.Values)
        {
            buffer.Dispose();
        }
        buffers.Clear();
    }
}
