namespace MmCluster.Worker.Tests.Loss;

/// <summary>Plays W ranks on W dedicated threads (a training step blocks its thread on collectives, as in the worker).</summary>
internal static class RankThreads
{
    public static T[] Run<T>(int world, Func<int, T> body, TimeSpan? timeout = null)
    {
        var results = new T[world];
        var errors = new Exception?[world];
        var threads = Enumerable.Range(0, world)
            .Select(rank => new Thread(() =>
            {
                try
                {
                    results[rank] = body(rank);
                }
                catch (Exception e)
                {
                    errors[rank] = e;
                }
            })
            { IsBackground = true, Name = $"rank-{rank}" })
            .ToArray();

        foreach (var thread in threads)
        {
            thread.Start();
        }

        var limit = timeout ?? TimeSpan.FromSeconds(60);
        foreach (var thread in threads)
        {
            if (!thread.Join(limit))
            {
                throw new TimeoutException($"{thread.Name} did not finish within {limit}");
            }
        }

        var failed = errors.Where(e => e is not null).ToArray();
        if (failed.Length > 0)
        {
            throw new AggregateException(failed!);
        }

        return results;
    }
}
