using MmCluster.Collectives;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// The tensor boundary of <see cref="ICollectiveGroup"/>: copies the input to a contiguous CPU float32 buffer only when it
/// is not one already (a transposed gradient is not: pytorch#120386), runs the collective in place on tensor storage, and
/// returns a fresh tensor in the input's dtype and device. With a <see cref="HostStaging"/> that stages (a CUDA device, or
/// staging forced) the payloads go through its kept host buffers instead: input -> send buffer, collective, receive
/// buffer -> a fresh tensor on the input's device. Blocks the calling (training) thread until the collective ends.
/// </summary>
internal static class TensorCollectives
{
    /// <summary>
    /// (b, ...) -> (W·b, ...), rows in rank order. A bf16 tensor travels as bf16 (<see cref="WirePrecision.BFloat16"/>):
    /// its values are bf16 already, so narrowing loses nothing and half the bytes move.
    /// </summary>
    public static Tensor AllGather(ICollectiveGroup group, Tensor local, HostStaging? staging = null)
    {
        var shape = RowShape(local, local.shape[0] * group.WorldSize);
        var wire = local.dtype == ScalarType.BFloat16 ? WirePrecision.BFloat16 : WirePrecision.Float32;
        return Run(local, shape, (send, receive) => group.AllGatherAsync(send, receive, wire), staging, "all-gather");
    }

    /// <summary>(W·b, ...) -> (b, ...): this rank's rows of the sum over ranks.</summary>
    public static Tensor ReduceScatter(ICollectiveGroup group, Tensor gathered, HostStaging? staging = null)
    {
        var rows = gathered.shape[0];
        if (rows % group.WorldSize != 0)
        {
            throw new ArgumentException($"reduce-scatter needs rows divisible by world size {group.WorldSize}, got {rows}", nameof(gathered));
        }

        var shape = RowShape(gathered, rows / group.WorldSize);
        return Run(gathered, shape, (send, receive) => group.ReduceScatterAsync(send, receive), staging, "reduce-scatter");
    }

    /// <summary>Sends <paramref name="send"/> one step around the ring and returns what the other neighbour sent (same shape).</summary>
    public static Tensor NeighborExchange(ICollectiveGroup group, Tensor send, bool forward) =>
        Run(send, send.shape, (s, receive) => group.NeighborExchangeAsync(s, receive, forward));

    /// <summary>Blocks on <paramref name="collective"/> without any synchronization context, so its continuations cannot deadlock on this thread.</summary>
    public static void Wait(Func<Task> collective)
    {
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            collective().GetAwaiter().GetResult();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }

    private static long[] RowShape(Tensor like, long rows)
    {
        if (like.dim() == 0)
        {
            throw new ArgumentException("collectives on tensors need a leading (row) dimension, got a scalar", nameof(like));
        }

        var shape = like.shape;
        shape[0] = rows;
        return shape;
    }

    private static Tensor Run(Tensor input, long[] outputShape, Func<ReadOnlyMemory<float>, Memory<float>, Task> collective,
        HostStaging? staging = null, string slot = "")
    {
        if (staging is { Stages: true })
        {
            return RunStaged(input, outputShape, collective, staging, slot);
        }
        using var send = TensorMemory.ContiguousFloat32(input);
        var output = empty(outputShape, ScalarType.Float32, CPU);
        try
        {
            Wait(() => collective(TensorMemory.Of(send), TensorMemory.Of(output)));
        }
        catch
        {
            output.Dispose();
            throw;
        }

        if (input.dtype == ScalarType.Float32 && input.device_type == DeviceType.CPU)
        {
            return output;
        }

        using (output)
        {
            using var typed = output.to_type(input.dtype);
            return typed.to(input.device);
        }
    }

    private static Tensor RunStaged(Tensor input, long[] outputShape, Func<ReadOnlyMemory<float>, Memory<float>, Task> collective,
        HostStaging staging, string slot)
    {
        using var send = staging.Buffer($"{slot}.send", input.numel());
        using (var detached = input.detach())
        using (var flat = detached.reshape(-1))
        {
            send.copy_(flat);                                                          // device -> host, as float32
        }
        using var receive = staging.Buffer($"{slot}.receive", outputShape.Aggregate(1L, (a, b) => a * b));
        Wait(() => collective(TensorMemory.Of(send), TensorMemory.Of(receive)));
        using var shaped = receive.view(outputShape);
        return shaped.to(input.dtype, input.device, copy: true);                      // host -> device, a fresh tensor
    }
}
