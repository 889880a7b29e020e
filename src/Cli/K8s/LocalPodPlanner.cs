using System.Globalization;
using System.Text.RegularExpressions;
using k8s.Models;

namespace MmCluster.Cli.K8s;

/// <summary>
/// Turns the manifests' Jobs into <see cref="LocalPod"/>s, standing in for the cluster: every pod gets its own loopback
/// address (its IP; what it binds as 0.0.0.0), a Service's DNS name becomes the address of the pod its selector picks,
/// <c>secretKeyRef</c>/<c>configMapKeyRef</c>/<c>fieldRef</c> are resolved, an Indexed Job's pods get
/// <c>JOB_COMPLETION_INDEX</c>, and every volume mount becomes a local directory (ConfigMap keys written as files, a
/// PersistentVolumeClaim shared by every pod that claims it), with mount paths in values and ConfigMap files mapped.
/// </summary>
internal sealed class LocalPodPlanner(K8sObjects objects, string podsRoot, string dataRoot, string subnet)
{
    private const string Namespace = "default";
    private readonly List<(V1Job Job, V1PodTemplateSpec Template, string Pod, int? Index, string Ip)> pods = [];

    /// <summary>Each Job's uid (its pods' controller-uid label), one per planned Job, as the API server gives a new Job.</summary>
    private readonly Dictionary<string, string> jobUids = new(StringComparer.Ordinal);

    /// <summary>Plans every pod of every Job (parallelism = completions: all at once, as the workers Job runs).</summary>
    public IReadOnlyList<LocalPod> Plan()
    {
        foreach (var job in objects.Jobs)
        {
            var indexed = job.Spec.CompletionMode == "Indexed";
            var count = job.Spec.Completions ?? 1;
            if ((job.Spec.Parallelism ?? 1) != count)
            {
                throw new ArgumentException($"Job {job.Metadata.Name}: run-local starts every pod at once, so parallelism must equal completions ({job.Spec.Parallelism} != {count})");
            }
            for (var i = 0; i < count; i++)
            {
                var name = indexed ? $"{job.Metadata.Name}-{i}" : count == 1 ? job.Metadata.Name : $"{job.Metadata.Name}-{i}";
                pods.Add((job, job.Spec.Template, name, indexed ? i : null, $"{subnet}.{pods.Count + 1}"));
            }
        }
        var serviceTargets = objects.Services.Select(ServiceTarget).ToHashSet(StringComparer.Ordinal);
        return pods.Select(p => PlanPod(p.Job, p.Template, p.Pod, p.Index, p.Ip) with { BehindService = serviceTargets.Contains(p.Ip) }).ToList();
    }

    private LocalPod PlanPod(V1Job job, V1PodTemplateSpec template, string pod, int? index, string ip)
    {
        if (template.Spec.Containers.Count != 1 || template.Spec.InitContainers?.Count > 0)
        {
            throw new ArgumentException($"Job {job.Metadata.Name}: run-local runs pods of exactly one container");
        }
        var container = template.Spec.Containers[0];
        if (container.Command is { Count: > 0 })
        {
            throw new ArgumentException($"Job {job.Metadata.Name}: container {container.Name} overrides the image's entry point (command); give args only");
        }
        var mounts = Mounts(template.Spec, container, pod);
        string Map(string value) => MapValue(value, ip, mounts);
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (index is { } i)
        {
            env["JOB_COMPLETION_INDEX"] = i.ToString(CultureInfo.InvariantCulture);
        }
        foreach (var variable in container.Env ?? [])
        {
            env[variable.Name] = Map(Resolve(variable, pod, ip, job));
        }
        var args = (container.Args ?? []).Select(a => Expand(Map(a), env)).ToList();
        return new LocalPod(pod, job.Metadata.Name, ip, K8sLayout.EntrypointOf(container.Image), args, env);
    }

    private string Resolve(V1EnvVar variable, string pod, string ip, V1Job job)
    {
        if (variable.ValueFrom is null)
        {
            return variable.Value ?? "";
        }
        var from = variable.ValueFrom;
        return from switch
        {
            { SecretKeyRef: { } s } => objects.SecretValue(s.Name, s.Key),
            { ConfigMapKeyRef: { } c } => (objects.ConfigMap(c.Name).Data is { } data && data.TryGetValue(c.Key, out var found) ? found : null)
                ?? throw new ArgumentException($"ConfigMap '{c.Name}' has no key '{c.Key}' (env {variable.Name} of Job {job.Metadata.Name})"),
            { FieldRef.FieldPath: "status.podIP" } => ip,
            { FieldRef.FieldPath: "metadata.name" } => pod,
            { FieldRef.FieldPath: K8sLayout.JobUidField } => JobUid(job),
            { FieldRef.FieldPath: "metadata.namespace" } => Namespace,
            _ => throw new ArgumentException($"Job {job.Metadata.Name}: env {variable.Name}: this valueFrom is not supported by run-local"),
        };
    }

    private string JobUid(V1Job job)
    {
        if (!jobUids.TryGetValue(job.Metadata.Name, out var uid))
        {
            jobUids[job.Metadata.Name] = uid = Guid.NewGuid().ToString();
        }
        return uid;
    }

    /// <summary>$(VAR) in args expands from the container's env, as the kubelet does.</summary>
    private static string Expand(string arg, IReadOnlyDictionary<string, string> env) =>
        Regex.Replace(arg, @"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", m => env.TryGetValue(m.Groups[1].Value, out var v) ? v : $"$({m.Groups[1].Value})");

    private List<(string MountPath, string Local)> Mounts(V1PodSpec spec, V1Container container, string pod)
    {
        var mounts = new List<(string, string)>();
        var configMapFiles = new List<(V1ConfigMap Map, string Directory)>();
        foreach (var mount in container.VolumeMounts ?? [])
        {
            var volume = spec.Volumes?.FirstOrDefault(v => v.Name == mount.Name)
                ?? throw new ArgumentException($"pod {pod}: volumeMount '{mount.Name}' names no volume");
            var local = volume switch
            {
                { PersistentVolumeClaim: { } claim } => ClaimDirectory(claim.ClaimName),
                { ConfigMap: { } map } => Path.Combine(podsRoot, pod, volume.Name),
                { EmptyDir: not null } => Path.Combine(podsRoot, pod, volume.Name),
                _ => throw new ArgumentException($"pod {pod}: volume '{volume.Name}' is of a kind run-local does not support"),
            };
            Directory.CreateDirectory(local);
            mounts.Add((mount.MountPath.TrimEnd('/'), local));
            if (volume.ConfigMap is { } source)
            {
                configMapFiles.Add((objects.ConfigMap(source.Name), local));
            }
        }
        mounts.Sort((a, b) => b.Item1.Length.CompareTo(a.Item1.Length));
        foreach (var (map, directory) in configMapFiles)
        {
            foreach (var (key, text) in map.Data ?? new Dictionary<string, string>())
            {
                File.WriteAllText(Path.Combine(directory, key), MapPaths(text, mounts));
            }
        }
        return mounts;
    }

    private string ClaimDirectory(string claim)
    {
        if (objects.Claims.All(c => c.Metadata.Name != claim))
        {
            throw new ArgumentException($"no PersistentVolumeClaim '{claim}' among the manifests");
        }
        return Path.Combine(dataRoot, claim);
    }

    private string MapValue(string value, string ip, List<(string MountPath, string Local)> mounts)
    {
        if (value is "0.0.0.0" or "::")
        {
            return ip; // all of the pod's interfaces: its own address
        }
        foreach (var service in objects.Services)
        {
            var name = service.Metadata.Name;
            var target = ServiceTarget(service);
            foreach (var dns in new[] { $"{name}.{Namespace}.svc.cluster.local", $"{name}.{Namespace}.svc", $"{name}.{Namespace}", name })
            {
                value = Regex.Replace(value, $@"(?<![\w.-]){Regex.Escape(dns)}(?![\w-]|\.\w)", target);
            }
        }
        return MapPaths(value, mounts);
    }

    /// <summary>The address behind a headless Service: the one planned pod its selector matches.</summary>
    private string ServiceTarget(V1Service service)
    {
        var selector = service.Spec.Selector ?? new Dictionary<string, string>();
        var matches = pods.Where(p => selector.All(kv => p.Template.Metadata?.Labels is { } labels && labels.TryGetValue(kv.Key, out var label) && label == kv.Value)).ToList();
        return matches.Count == 1
            ? matches[0].Ip
            : throw new ArgumentException($"Service {service.Metadata.Name}: its selector matches {matches.Count} pods; run-local maps a Service name to exactly one");
    }

    /// <summary>Mount paths -> local directories in one pass (a local directory may itself start with a mount path, e.g. /tmp).</summary>
    private static string MapPaths(string text, List<(string MountPath, string Local)> mounts)
    {
        if (mounts.Count == 0)
        {
            return text;
        }
        var local = mounts.ToDictionary(m => m.MountPath, m => m.Local, StringComparer.Ordinal);
        var alternatives = string.Join('|', mounts.Select(m => Regex.Escape(m.MountPath))); // longest first
        return Regex.Replace(text, $@"(?<=^|[\s:=""'\[,])(?:{alternatives})(?=/|$|[\s""'\],])", m => local[m.Value], RegexOptions.Multiline);
    }
}
