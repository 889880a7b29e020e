using System.CommandLine;
using System.Security.Cryptography;
using MmCluster.Cli.Chaos;
using MmCluster.Cli.K8s;
using MmCluster.Shared.Spec;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster k8s render</c>: one run's Kubernetes manifests (a Kustomize directory) from a run spec; and
/// <c>mmcluster k8s run-local DIR</c>: runs those manifests' containers as local processes, to prove without a cluster
/// that the manifests and the programs agree.
/// </summary>
internal static class K8sCommand
{
    public static Command Create() => new("k8s", "Kubernetes: render a run's manifests, or run them as local processes.")
    {
        Render(),
        RunLocal(),
    };

    private static Command Render()
    {
        var spec = new Option<string>("--spec") { Description = "Run spec (YAML or JSON); goes into the ConfigMap verbatim", Required = true };
        var workers = new Option<int?>("--workers") { Description = "Number of workers (default: the spec's world_size)" };
        var tag = new Option<string>("--image-tag") { Description = "Tag of the coordinator and worker images", DefaultValueFactory = _ => "latest" };
        var registry = new Option<string>("--image-registry") { Description = "Registry/prefix of the images", DefaultValueFactory = _ => "ghcr.io/mmcluster" };
        var name = new Option<string>("--name") { Description = "Prefix of every object's name", DefaultValueFactory = _ => "mmcluster" };
        var threads = new Option<int>("--threads") { Description = "Torch threads (and CPU request) per worker", DefaultValueFactory = _ => 2 };
        var storage = new Option<string>("--storage") { Description = "Size of the run-data volume claim", DefaultValueFactory = _ => "50Gi" };
        var secret = new Option<string>("--token")
        {
            Description = "Bearer token for the Secret: 'generate' (a fresh random one, written to secret.yaml), 'none' (create the Secret yourself), or the token",
            DefaultValueFactory = _ => "generate",
        };
        var output = new Option<string>("--out") { Description = "Output directory", Required = true };
        var command = new Command("render", "Write a run's manifests (coordinator Job + Service, workers Indexed Job, ConfigMap, Secret, PVC, kustomization.yaml).")
        {
            spec, workers, tag, registry, name, threads, storage, secret, output,
        };
        command.SetAction((result, ct) => RunCommands.Guard("k8s render", async () =>
        {
            var specPath = result.GetValue(spec)!;
            // Paths in the spec are pod paths: the coordinator checks they exist, in its pod, not here.
            var loaded = RunSpecLoader.Load(specPath, new RunSpecValidator(exists: _ => true));
            if (loaded.Manifest?.Path is { } manifestPath && !manifestPath.StartsWith('/'))
            {
                throw new ArgumentException(
                    $"{specPath}: manifest.path '{manifestPath}' is relative; in a pod it would resolve inside the read-only spec ConfigMap ({K8sLayout.SpecMount}). Use a path on the run-data volume, e.g. {K8sLayout.DataMount}/manifest");
            }
            var world = result.GetValue(workers) ?? loaded.WorldSize;
            var token = result.GetValue(secret)! switch
            {
                "generate" => Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant(),
                "none" => null,
                var given => given,
            };
            var options = new K8sRenderOptions
            {
                SpecText = await File.ReadAllTextAsync(specPath, ct),
                Workers = world,
                ImageTag = result.GetValue(tag)!,
                ImageRegistry = result.GetValue(registry)!,
                Name = result.GetValue(name)!,
                Threads = result.GetValue(threads),
                Storage = result.GetValue(storage)!,
                Token = token,
            };
            var directory = result.GetValue(output)!;
            Directory.CreateDirectory(directory);
            foreach (var (file, yaml) in K8sManifests.Render(options))
            {
                await File.WriteAllTextAsync(Path.Combine(directory, file), yaml, ct);
            }
            Console.WriteLine($"mmcluster k8s render: {world} workers, images {options.ImageRegistry}/mmcluster-{{coordinator,worker}}:{options.ImageTag} -> {directory} (kubectl apply -k {directory})");
            return 0;
        }));
        return command;
    }

    private static Command RunLocal()
    {
        var directory = new Argument<string>("dir") { Description = "Directory of rendered manifests (every *.yaml but kustomization.yaml)" };
        var data = new Option<string?>("--data") { Description = "Local directory standing for the PersistentVolumeClaims (default: a temp directory)" };
        var timeout = new Option<double>("--timeout") { Description = "Seconds before every process is stopped", DefaultValueFactory = _ => 600 };
        var chaos = new Option<string?>("--chaos")
        {
            Description = "Failures to rehearse, as for mmcluster dev (docs/chaos.md): \"kill worker-1 at step 40\" kills the workers' pod of index 1; "
                + "the Job recreates it by its podFailurePolicy and backoffLimit",
        };
        var command = new Command("run-local", "Run the manifests' containers (command, args, env, mounts) as local processes, Service names on loopback; failed pods are recreated as their Job would.")
        {
            directory, data, timeout, chaos,
        };
        command.SetAction((result, ct) => RunCommands.Guard("k8s run-local", () => LocalCluster.RunAsync(
            result.GetValue(directory)!, result.GetValue(data), TimeSpan.FromSeconds(result.GetValue(timeout)),
            result.GetValue(chaos) is { } plan ? ChaosPlan.Parse(plan) : ChaosPlan.None, Console.Out, ct)));
        return command;
    }
}
