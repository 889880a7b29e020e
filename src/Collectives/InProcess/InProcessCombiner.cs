namespace MmCluster.Collectives.InProcess;

/// <summary>
/// The one-process reference semantics of every collective: given what each of the W ranks contributed to one call,
/// what each rank receives. Sums run in rank order, so every rank of an all-reduce gets bit-identical values.
/// Throws <see cref="CollectiveException"/> naming the rank whose call does not match rank 0's.
/// </summary>
internal static class InProcessCombiner
{
    public static float[][] Combine(IReadOnlyList<InProcessHub.Contribution> calls, long sequence)
    {
        var first = calls[0];
        for (var r = 1; r < calls.Count; r++)
        {
            var call = calls[r];
            if (call.Kind != first.Kind)
            {
                throw new CollectiveException($"call #{sequence}: rank {r} called {call.Kind} while rank 0 called {first.Kind}", r);
            }

            var sameLength = first.Kind == InProcessOp.NeighborExchange || call.Data.Length == first.Data.Length;
            if (!sameLength || call.Parameter != first.Parameter)
            {
                throw new CollectiveException(
                    $"{first.Kind} #{sequence}: rank {r} gave {call.Data.Length} floats (parameter {call.Parameter}), rank 0 gave {first.Data.Length} (parameter {first.Parameter})", r);
            }
        }

        return first.Kind switch
        {
            InProcessOp.AllGather => Broadcast(calls.Count, Concat(calls)),
            InProcessOp.ReduceScatter => ReduceScatter(calls),
            InProcessOp.AllReduce => Broadcast(calls.Count, Rounded(Reduce(calls, (ReduceOp)(first.Parameter & 0xFF)), (WirePrecision)(first.Parameter >> 8))),
            InProcessOp.Broadcast => Broadcast(calls.Count, calls[first.Parameter].Data),
            InProcessOp.NeighborExchange => NeighborExchange(calls, first.Parameter != 0, sequence),
            InProcessOp.Barrier => Broadcast(calls.Count, []),
            _ => throw new ArgumentOutOfRangeException(nameof(calls), first.Kind, "unknown collective"),
        };
    }

    private static float[][] Broadcast(int world, float[] result) => Enumerable.Repeat(result, world).ToArray();

    private static float[] Rounded(float[] result, WirePrecision wire)
    {
        if (wire == WirePrecision.BFloat16)
        {
            BFloat16Bits.RoundInPlace(result);
        }

        return result;
    }

    private static float[] Concat(IReadOnlyList<InProcessHub.Contribution> calls)
    {
        var n = calls[0].Data.Length;
        var all = new float[n * calls.Count];
        for (var r = 0; r < calls.Count; r++)
        {
            calls[r].Data.CopyTo(all, r * n);
        }

        return all;
    }

    private static float[] Reduce(IReadOnlyList<InProcessHub.Contribution> calls, ReduceOp op)
    {
        var sum = (float[])calls[0].Data.Clone();
        for (var r = 1; r < calls.Count; r++)
        {
            var data = calls[r].Data;
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += data[i];
            }
        }

        if (op == ReduceOp.Mean)
        {
            var w = (float)calls.Count;
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] /= w;
            }
        }

        return sum;
    }

    private static float[][] ReduceScatter(IReadOnlyList<InProcessHub.Contribution> calls)
    {
        var sum = Reduce(calls, ReduceOp.Sum);
        var world = calls.Count;
        return Enumerable.Range(0, world)
            .Select(r => sum.AsSpan(BlockPartition.Offset(sum.Length, world, r), BlockPartition.Count(sum.Length, world, r)).ToArray())
            .ToArray();
    }

    private static float[][] NeighborExchange(IReadOnlyList<InProcessHub.Contribution> calls, bool forward, long sequence)
    {
        var world = calls.Count;
        var results = new float[world][];
        for (var r = 0; r < world; r++)
        {
            var from = forward ? (r - 1 + world) % world : (r + 1) % world;
            var sent = calls[from].Data;
            if (sent.Length != calls[r].OutputLength)
            {
                throw new CollectiveException(
                    $"NeighborExchange #{sequence}: rank {from} sent {sent.Length} floats but rank {r} expects {calls[r].OutputLength}", from);
            }

            results[r] = sent;
        }

        return results;
    }
}
