using System.Buffers;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// A <see cref="Memory{T}"/> over the storage of a contiguous CPU float32 tensor, so collectives read and write the tensor
/// in place (no float[] copy). Valid only while the tensor lives; the collective calls that use it complete before the
/// tensor is disposed, because the autograd functions block on them.
/// </summary>
internal sealed unsafe class TensorMemory : MemoryManager<float>
{
    private readonly float* pointer;
    private readonly int length;

    private TensorMemory(float* pointer, int length)
    {
        this.pointer = pointer;
        this.length = length;
    }

    /// <summary>The storage of <paramref name="tensor"/>, which must be CPU, float32 and contiguous.</summary>
    public static Memory<float> Of(Tensor tensor)
    {
        if (tensor.device_type != DeviceType.CPU || tensor.dtype != ScalarType.Float32 || !tensor.is_contiguous())
        {
            throw new ArgumentException(
                $"collective buffers must be contiguous CPU float32, got {tensor.dtype} on {tensor.device} (contiguous: {tensor.is_contiguous()})",
                nameof(tensor));
        }

        if (tensor.numel() > int.MaxValue)
        {
            throw new ArgumentException($"a collective buffer holds at most {int.MaxValue} floats, got {tensor.numel()}", nameof(tensor));
        }

        var bytes = tensor.bytes;
        fixed (byte* start = bytes)
        {
            // The storage is native memory owned by libtorch: it does not move, so the pointer outlives the fixed block.
            return new TensorMemory((float*)start, bytes.Length / sizeof(float)).Memory;
        }
    }

    /// <summary>
    /// True when two tensors (two managed wrappers, say) view the same storage with the same shape: on the CPU by their
    /// bytes' address; on another device (a CUDA model's parameters) by their float32 storage's address and offset.
    /// </summary>
    public static bool SameData(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dtype != b.dtype || a.device_type != b.device_type || a.device_index != b.device_index)
        {
            return false;
        }
        if (a.device_type != DeviceType.CPU)
        {
            return a.dtype == ScalarType.Float32 && a.storage_offset() == b.storage_offset()
                && a.storage<float>().data_ptr() == b.storage<float>().data_ptr();
        }
        fixed (byte* pa = a.bytes)
        fixed (byte* pb = b.bytes)
        {
            return pa == pb;
        }
    }

    /// <summary>(any shape, dtype, device) -> a contiguous CPU float32 tensor with the same values; copies only when needed.</summary>
    public static Tensor ContiguousFloat32(Tensor tensor)
    {
        using var detached = tensor.detach();
        using var cpu = detached.cpu();
        using var float32 = cpu.to_type(ScalarType.Float32);
        return float32.contiguous();
    }

    public override Span<float> GetSpan() => new(pointer, length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, length);
        return new MemoryHandle(pointer + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
