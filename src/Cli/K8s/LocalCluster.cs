using System.Diagnostics;
using MmCluster.Cli.Hosting;

namespace MmCluster.Cli.K8s;

/// <summary>
/// <c>mmcluster k8s run-local DIR</c>: starts every pod of the rendered manifests as a local process (see
/// <see cref="LocalPodPlanner"/> for how the cluster is stood in for) and waits for all of them, as the Jobs would. When
/// one fails, the others get 20 s to end on their own (the run fails on every member), then SIGTERM, as a Job's
/// <c>FailJob</c> does. Exit code 0 only if every pod exited 0.
/// </summary>
internal static class LocalCluster
{
    private static readonly TimeSpan FailureGrace = TimeSpan.FromSeconds(20);

    public static async Task<int> RunAsync(string directory, string? dataDirectory, TimeSpan timeout, TextWriter log, CancellationToken ct)
    {
        var objects = K8sObjects.Load(directory);
        var root = Directory.CreateTempSubdirectory("mmcluster-k8s-local-").FullName;
        var data = Path.GetFullPath(dataDirectory ?? Path.Combine(root, "volumes"));
        var subnet = $"127.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}";
        var pods = new LocalPodPlanner(objects, Path.Combine(root, "pods"), data, subnet).Plan();
        if (pods.Count == 0)
        {
            throw new ArgumentException($"{directory}: no Jobs, so no pods to run");
        }
        await log.WriteLineAsync($"mmcluster k8s run-local: {pods.Count} pods on {subnet}.0/24, volumes in {data}, logs in {root}/logs");
        var children = new List<(LocalPod Pod, ChildProcess Process)>();
        var succeeded = false;
        try
        {
            foreach (var pod in pods)
            {
                await log.WriteLineAsync($"  pod {pod.Name} ({pod.Ip}): {pod.EntryAssembly} {string.Join(' ', pod.Args)}");
                children.Add((pod, ChildProcess.Start(pod.Name, StartInfo(pod), pod.Environment, Path.Combine(root, "logs", $"{pod.Name}.log"),
                    (name, line) => log.WriteLine($"[{name}] {line}"))));
            }
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(timeout);
            await WaitAllAsync(children.Select(c => c.Process).ToList(), deadline.Token);
            foreach (var (pod, process) in children)
            {
                await log.WriteLineAsync($"mmcluster k8s run-local: pod {pod.Name} exited {process.ExitCode}");
            }
            succeeded = children.All(c => c.Process.ExitCode == 0);
            return succeeded ? 0 : 1;
        }
        catch (OperationCanceledException)
        {
            await log.WriteLineAsync(ct.IsCancellationRequested ? "mmcluster k8s run-local: stopped" : $"mmcluster k8s run-local: timed out after {timeout}");
            await Task.WhenAll(children.Select(c => c.Process.StopAsync(TimeSpan.FromSeconds(10))));
            return ct.IsCancellationRequested ? 130 : 1;
        }
        finally
        {
            foreach (var (_, process) in children)
            {
                await process.DisposeAsync();
            }
            if (succeeded)
            {
                Directory.Delete(Path.Combine(root, "pods"), recursive: true); // the logs stay
            }
        }
    }

    private static async Task WaitAllAsync(List<ChildProcess> processes, CancellationToken ct)
    {
        var pending = processes.ToDictionary(p => p.WaitAsync(ct), p => p);
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending.Keys);
            await done;
            var process = pending[done];
            pending.Remove(done);
            if (process.ExitCode != 0 && pending.Count > 0)
            {
                await StopAfterGraceAsync(pending.Values.ToList(), ct);
                return;
            }
        }
    }

    private static async Task StopAfterGraceAsync(List<ChildProcess> rest, CancellationToken ct)
    {
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(ct);
        grace.CancelAfter(FailureGrace);
        try
        {
            await Task.WhenAll(rest.Select(p => p.WaitAsync(grace.Token)));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            await Task.WhenAll(rest.Select(p => p.StopAsync(TimeSpan.FromSeconds(10))));
        }
    }

    /// <summary><c>dotnet ENTRY.dll ARGS</c>, the entry assembly found next to this program (as in the image's /app).</summary>
    private static ProcessStartInfo StartInfo(LocalPod pod)
    {
        var entry = Path.Combine(AppContext.BaseDirectory, pod.EntryAssembly);
        if (!File.Exists(entry))
        {
            throw new FileNotFoundException($"pod {pod.Name}: entry point {entry} not found (build src/Cli, which carries both)");
        }
        var info = new ProcessStartInfo("dotnet");
        info.ArgumentList.Add(entry);
        foreach (var arg in pod.Args)
        {
            info.ArgumentList.Add(arg);
        }
        // A container starts with only the variables its manifest gives: drop this shell's own MMCLUSTER_* settings.
        foreach (var inherited in info.Environment.Keys.Where(k => k.StartsWith("MMCLUSTER_", StringComparison.Ordinal) || k == "JOB_COMPLETION_INDEX").ToList())
        {
            info.Environment.Remove(inherited);
        }
        return info;
    }
}
