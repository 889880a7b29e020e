using System.Diagnostics;
using System.Globalization;
using MmCluster.Cli.Chaos;
using MmCluster.Cli.Hosting;
using MmCluster.Cli.Watch;
using MmCluster.Worker.Runtime;

namespace MmCluster.Cli.K8s;

/// <summary>
/// <c>mmcluster k8s run-local DIR</c>: starts every pod of the rendered manifests as a local process (see
/// <see cref="LocalPodPlanner"/> for how the cluster is stood in for) and waits for all of them, as the Jobs would. A pod
/// that fails is recreated with the same name and index, and a new pod IP (<see cref="PodAddresses"/>), as its Job's
/// controller would (<see cref="LocalJobPolicy"/>: <c>podFailurePolicy</c> and <c>backoffLimit</c>); when a Job fails, the other pods get 20 s to end on their own (the run
/// fails on every member), then SIGTERM, as a Job's <c>FailJob</c> does. <c>--chaos</c> kills or freezes pods by the
/// same plans as <c>mmcluster dev</c> (worker-N is the workers' pod of index N), following the coordinator's dashboard for
/// step triggers. Exit code 0 only if every pod's last process exited 0.
/// </summary>
internal static class LocalCluster
{
    private static readonly TimeSpan FailureGrace = TimeSpan.FromSeconds(20);

    /// <summary>How long the Job controller takes here to recreate a failed pod.</summary>
    private static readonly TimeSpan RecreateDelay = TimeSpan.FromSeconds(1);

    public static async Task<int> RunAsync(string directory, string? dataDirectory, TimeSpan timeout, ChaosPlan chaos, TextWriter log, CancellationToken ct)
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
        var addresses = new PodAddresses(subnet, pods.Count);
        var policies = objects.Jobs.ToDictionary(j => j.Metadata.Name, j => new LocalJobPolicy(j), StringComparer.Ordinal);
        var coordinatorPod = pods.FirstOrDefault(p => p.Environment.ContainsKey("MMCLUSTER_DASHBOARD_PORT"));
        var workerPods = pods.Where(p => p.Environment.ContainsKey("JOB_COMPLETION_INDEX"))
            .ToDictionary(p => int.Parse(p.Environment["JOB_COMPLETION_INDEX"], CultureInfo.InvariantCulture));
        if (!chaos.IsEmpty)
        {
            chaos.CheckTargets(workerPods.Count);
            if (coordinatorPod is null)
            {
                throw new ArgumentException($"{directory}: --chaos needs the coordinator's pod (MMCLUSTER_DASHBOARD_PORT in its env) to follow the run");
            }
        }
        await log.WriteLineAsync($"mmcluster k8s run-local: {pods.Count} pods on {subnet}.0/24, volumes in {data}, logs in {root}/logs");
        var tracker = new RunTracker();
        var supervised = new List<(LocalPod Pod, SupervisedProcess Process)>();
        var succeeded = false;
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var follow = Task.CompletedTask;
        ChaosMonkey? monkey = null;
        var monkeyRun = Task.CompletedTask;
        try
        {
            // As a Job's controller: a failed pod is recreated until its Job fails. A worker pod is recreated even after
            // the run ended (a replacement that comes late must hear from the coordinator that the run finished: it stays
            // recovery.replacement_wait for it); the coordinator's pod is not, once the run is over.
            bool MayRestart(LocalPod pod) => (pod != coordinatorPod || !tracker.IsOver) && policies.Values.All(p => !p.Failed);
            foreach (var pod in pods)
            {
                await log.WriteLineAsync($"  pod {pod.Name} ({pod.Ip}): {pod.EntryAssembly} {string.Join(' ', pod.Args)}");
                var policy = policies[pod.Job];
                var logPath = Path.Combine(root, "logs", $"{pod.Name}.log");
                var incarnation = pod;
                ChildProcess StartPod(int restart)
                {
                    if (restart > 0 && !pod.BehindService)
                    {
                        // A recreated pod gets a new pod IP (so a new Akka address: no new incarnation of the lost
                        // member at its old address races that member's removal from the cluster).
                        incarnation = incarnation.At(addresses.Next());
                        log.WriteLine($"mmcluster k8s run-local: pod {pod.Name} recreated at {incarnation.Ip} (a new pod IP)");
                    }
                    return ChildProcess.Start(pod.Name, StartInfo(incarnation), PodEnvironment(incarnation), logPath, (name, line) => log.WriteLine($"[{name}] {line}"));
                }
                var process = SupervisedProcess.Start(pod.Name, StartPod,
                    new SupervisionOptions(int.MaxValue, RecreateDelay) { RefuseRestart = policy.OnPodFailed },
                    () => MayRestart(pod),
                    line => log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"mmcluster k8s run-local: pod {line} (Job {policy.Name}: {policy.Failures} of backoffLimit {policy.BackoffLimit} failures)")));
                supervised.Add((pod, process));
                if (pod == coordinatorPod)
                {
                    _ = process.Exited.ContinueWith(_ => tracker.MarkOver(), TaskScheduler.Default); // the run is over: no more recreations
                }
            }
            if (!chaos.IsEmpty)
            {
                SupervisedProcess Of(string target) => supervised.Single(s => s.Pod == (target == ChaosAction.Coordinator
                    ? coordinatorPod : workerPods[int.Parse(target["worker-".Length..], CultureInfo.InvariantCulture)])).Process;
                var dashboard = new Uri($"http://{coordinatorPod!.Ip}:{coordinatorPod.Environment["MMCLUSTER_DASHBOARD_PORT"]}");
                follow = FollowAsync(dashboard, coordinatorPod.Environment.GetValueOrDefault("MMCLUSTER_TOKEN"), tracker, watching.Token);
                var journal = new ChaosJournal(Path.Combine(root, "chaos.jsonl"));
                monkey = new ChaosMonkey(new ChaosScheduler(chaos, workerPods.Count), target => Of(target).Current, journal,
                    line => log.WriteLine($"mmcluster k8s run-local: {line}"), (target, down) => Of(target).HoldRestart(down));
                monkeyRun = monkey.RunAsync(() => tracker.Latest, watching.Token);
                await log.WriteLineAsync($"mmcluster k8s run-local: chaos plan armed; every action is appended to {journal.Path}");
            }
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(timeout);
            await WaitAllAsync(supervised.Select(s => s.Process).ToList(), deadline.Token);
            foreach (var (pod, process) in supervised)
            {
                var last = await process.Exited;
                await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"mmcluster k8s run-local: pod {pod.Name} exited {last.ExitCode}{(process.Restarts > 0 ? $" (recreated {process.Restarts} times)" : "")}"));
            }
            succeeded = supervised.All(s => s.Process.Exited.Result.ExitCode == 0);
            return succeeded ? 0 : 1;
        }
        catch (OperationCanceledException)
        {
            await log.WriteLineAsync(ct.IsCancellationRequested ? "mmcluster k8s run-local: stopped" : $"mmcluster k8s run-local: timed out after {timeout}");
            tracker.MarkOver();
            await Task.WhenAll(supervised.Select(s => s.Process.StopAsync(TimeSpan.FromSeconds(10))));
            return ct.IsCancellationRequested ? 130 : 1;
        }
        finally
        {
            tracker.MarkOver();
            await watching.CancelAsync();
            await monkeyRun;
            if (monkey is not null)
            {
                await monkey.DisposeAsync(); // SIGCONT to a frozen pod, so it can be stopped
            }
            try
            {
                await follow;
            }
            catch (OperationCanceledException)
            {
            }
            foreach (var (_, process) in supervised)
            {
                await process.DisposeAsync();
            }
            if (succeeded)
            {
                Directory.Delete(Path.Combine(root, "pods"), recursive: true); // the logs stay
            }
        }
    }

    /// <summary>Follows the coordinator's dashboard for the chaos plan's step triggers (retrying until it answers).</summary>
    private static async Task FollowAsync(Uri dashboard, string? token, RunTracker tracker, CancellationToken ct)
    {
        var watcher = new DashboardWatcher(dashboard, token, TimeSpan.FromSeconds(600), _ => { });
        await foreach (var snapshot in watcher.WatchAsync(ct))
        {
            tracker.Observe(snapshot);
        }
    }

    private static async Task WaitAllAsync(List<SupervisedProcess> processes, CancellationToken ct)
    {
        var pending = processes.ToDictionary(p => (Task)p.Exited.WaitAsync(ct), p => p);
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending.Keys);
            await done;
            var process = pending[done];
            pending.Remove(done);
            if (process.Exited.Result.ExitCode != 0 && pending.Count > 0)
            {
                await StopAfterGraceAsync(pending.Values.ToList(), ct);
                return;
            }
        }
    }

    private static async Task StopAfterGraceAsync(List<SupervisedProcess> rest, CancellationToken ct)
    {
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(ct);
        grace.CancelAfter(FailureGrace);
        try
        {
            await Task.WhenAll(rest.Select(p => p.Exited.WaitAsync(grace.Token)));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            await Task.WhenAll(rest.Select(p => p.StopAsync(TimeSpan.FromSeconds(10))));
        }
    }

    /// <summary>The container's env plus what the worker image sets itself (docker/worker.Dockerfile): the gen0 GC budget.</summary>
    private static Dictionary<string, string> PodEnvironment(LocalPod pod)
    {
        var environment = new Dictionary<string, string>(pod.Environment);
        GcBudget.AddTo(environment);
        return environment;
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

/// <summary>
/// The addresses of recreated pods: the /24's addresses after the planned pods' own, in turn (after .254 it starts
/// over, reusing the addresses of pods recreated long before).
/// </summary>
internal sealed class PodAddresses(string subnet, int planned)
{
    private const int Last = 254;
    private int issued;

    public string Next()
    {
        if (planned >= Last)
        {
            throw new InvalidOperationException($"{subnet}.0/24 holds no address for a recreated pod beside {planned} planned pods");
        }
        var host = planned + 1 + (Interlocked.Increment(ref issued) - 1) % (Last - planned);
        return string.Create(CultureInfo.InvariantCulture, $"{subnet}.{host}");
    }
}
