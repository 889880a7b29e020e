using System.CommandLine;
using k8s;
using k8s.Models;
using MmCluster.Cli.Commands;
using MmCluster.Cli.K8s;
using MmCluster.Shared.Hosting;
using MmCluster.Shared.Spec;
using Xunit;

namespace MmCluster.Cli.Tests.K8s;

/// <summary>
/// The manifests without a cluster: k8s/base is what the renderer writes, every object parses strictly into
/// KubernetesClient's types, and every container is wired to what the programs read and serve.
/// </summary>
public sealed class K8sManifestSpecs
{
    private static readonly string BaseDir = RepoPaths.Of("k8s", "base");
    private static readonly string BaseSpec = RepoPaths.Of("examples", "k8s", "fashion-mnist-clip.yaml");

    [Fact]
    public void Should_equal_the_committed_base_when_rendered_with_the_base_defaults()
    {
        var rendered = K8sManifests.Render(new K8sRenderOptions { SpecText = File.ReadAllText(BaseSpec), Workers = RunSpecLoader.Load(BaseSpec).WorldSize });

        Assert.Equal(
            Directory.GetFiles(BaseDir, "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal),
            rendered.Select(r => r.File).Order(StringComparer.Ordinal));
        foreach (var (file, yaml) in rendered)
        {
            Assert.True(yaml == File.ReadAllText(Path.Combine(BaseDir, file)),
                $"k8s/base/{file} differs from the renderer's output: run mmcluster k8s render --spec examples/k8s/fashion-mnist-clip.yaml --token none --out k8s/base");
        }
    }

    [Fact]
    public void Should_parse_every_object_strictly_when_loading_the_base()
    {
        var objects = K8sObjects.Load(BaseDir);

        Assert.Equal(2, objects.Jobs.Count);
        Assert.Single(objects.Services);
        Assert.Single(objects.ConfigMaps);
        Assert.Single(objects.Claims);
        Assert.Empty(objects.Secrets); // the base never carries a token
    }

    [Fact]
    public void Should_reject_the_manifest_when_a_field_is_misspelled()
    {
        var dir = Directory.CreateTempSubdirectory("mmcluster-k8s-bad-").FullName;
        File.WriteAllText(Path.Combine(dir, "job.yaml"),
            File.ReadAllText(Path.Combine(BaseDir, "workers-job.yaml")).Replace("completionMode:", "completionMod:", StringComparison.Ordinal));

        try
        {
            var error = Assert.Throws<ArgumentException>(() => K8sObjects.Load(dir));

            Assert.Contains("job.yaml", error.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Should_give_each_container_only_flags_and_variables_its_command_reads()
    {
        var commands = RunCommands.Create().ToDictionary(c => c.Name);
        foreach (var job in K8sObjects.Load(BaseDir).Jobs)
        {
            var container = Assert.Single(job.Spec.Template.Spec.Containers);
            var args = container.Args ?? [];
            Assert.NotEmpty(args);
            Assert.True(commands.TryGetValue(args[0], out var command), $"Job {job.Metadata.Name}: '{args[0]}' is not a process role");
            var known = command!.Options.Select(EnvOption.VariableOf).OfType<string>().ToHashSet();
            Assert.NotEmpty(known);
            foreach (var variable in container.Env)
            {
                Assert.True(known.Contains(variable.Name), $"Job {job.Metadata.Name}: env {variable.Name} is read by no option of '{command.Name}'");
            }
            var parsed = command.Parse(args.Skip(1).ToArray());
            Assert.Empty(parsed.Errors);
            Assert.Empty(parsed.UnmatchedTokens);
        }
    }

    [Fact]
    public void Should_run_the_spec_world_size_of_workers_when_rendered_without_override()
    {
        var objects = K8sObjects.Load(BaseDir);
        var (spec, problems) = RunSpecLoader.Parse(Assert.Single(objects.ConfigMaps).Data[K8sLayout.SpecKey], "configmap", K8sLayout.SpecMount);
        Assert.Empty(problems);
        var world = spec!.WorldSize;

        var workers = Workers(objects);
        Assert.Equal("Indexed", workers.Spec.CompletionMode);
        Assert.Equal(world, workers.Spec.Completions);
        Assert.Equal(world, workers.Spec.Parallelism);
        Assert.Equal(world.ToString(System.Globalization.CultureInfo.InvariantCulture), Env(Coordinator(objects), "MMCLUSTER_WORKERS").Value);
    }

    [Fact]
    public void Should_take_the_token_from_the_secret_in_every_container()
    {
        foreach (var job in K8sObjects.Load(BaseDir).Jobs)
        {
            var token = Env(job, "MMCLUSTER_TOKEN");
            Assert.Null(token.Value);
            Assert.Equal(K8sLayout.TokenSecret("mmcluster"), token.ValueFrom.SecretKeyRef.Name);
            Assert.Equal(K8sLayout.TokenKey, token.ValueFrom.SecretKeyRef.Key);
        }
    }

    [Fact]
    public void Should_probe_the_port_each_program_serves_grpc_health_on()
    {
        var objects = K8sObjects.Load(BaseDir);
        foreach (var (job, servedBy) in new[] { (Coordinator(objects), "MMCLUSTER_DASHBOARD_PORT"), (Workers(objects), "MMCLUSTER_GRPC_PORT") })
        {
            var container = job.Spec.Template.Spec.Containers[0];
            var served = int.Parse(Env(job, servedBy).Value, System.Globalization.CultureInfo.InvariantCulture);
            foreach (var probe in new[] { container.StartupProbe, container.ReadinessProbe, container.LivenessProbe })
            {
                Assert.Equal(served, probe.Grpc.Port);
            }
            Assert.Contains(container.Ports, p => p.ContainerPort == served);
        }
    }

    [Fact]
    public void Should_point_the_akka_seed_at_the_headless_service_the_coordinator_advertises()
    {
        var objects = K8sObjects.Load(BaseDir);
        var service = Assert.Single(objects.Services);
        var coordinator = Coordinator(objects);

        Assert.Equal("None", service.Spec.ClusterIP);
        Assert.True(service.Spec.PublishNotReadyAddresses);
        Assert.All(service.Spec.Selector, kv => Assert.Equal(kv.Value, coordinator.Spec.Template.Metadata.Labels[kv.Key]));
        Assert.Equal(service.Metadata.Name, Env(coordinator, "MMCLUSTER_PUBLIC_HOST").Value);
        var seed = new Uri(Env(Workers(objects), "MMCLUSTER_COORDINATOR").Value);
        Assert.Equal(service.Metadata.Name, seed.Host);
        Assert.Equal(int.Parse(Env(coordinator, "MMCLUSTER_PORT").Value, System.Globalization.CultureInfo.InvariantCulture), seed.Port);
        Assert.Contains(service.Spec.Ports, p => p.Port == seed.Port);
        Assert.Contains(service.Spec.Ports, p => p.Port == int.Parse(Env(coordinator, "MMCLUSTER_DASHBOARD_PORT").Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("dev-cpu", "workers-small.yaml")]
    [InlineData("dev-cpu", "pvc-rwo.yaml")]
    [InlineData("gpu", "workers-gpu.yaml")]
    public void Should_patch_objects_and_containers_of_the_base_when_an_overlay_patches(string overlay, string patch)
    {
        var objects = K8sObjects.Load(BaseDir);
        var kustomization = File.ReadAllText(RepoPaths.Of("k8s", "overlays", overlay, "kustomization.yaml"));
        Assert.Contains("../../base", kustomization);
        Assert.Contains($"path: {patch}", kustomization);

        var patched = Assert.Single(KubernetesYaml.LoadAllFromString(File.ReadAllText(RepoPaths.Of("k8s", "overlays", overlay, patch)), strict: true));

        switch (patched)
        {
            case V1Job job:
                var target = Assert.Single(objects.Jobs, j => j.Metadata.Name == job.Metadata.Name);
                Assert.All(job.Spec.Template.Spec.Containers, c => Assert.Contains(target.Spec.Template.Spec.Containers, t => t.Name == c.Name));
                if (overlay == "gpu")
                {
                    Assert.Equal("1", job.Spec.Template.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"].ToString());
                }
                break;
            case V1PersistentVolumeClaim claim:
                Assert.Contains(objects.Claims, c => c.Metadata.Name == claim.Metadata.Name);
                break;
            default:
                Assert.Fail($"{patch}: unexpected {patched.GetType().Name}");
                break;
        }
    }

    [Theory]
    [InlineData("coordinator.Dockerfile", "mmcluster-coordinator")]
    [InlineData("worker.Dockerfile", "mmcluster-worker")]
    public void Should_build_existing_projects_and_start_the_entry_point_run_local_assumes_when_reading_a_dockerfile(string dockerfile, string image)
    {
        var lines = File.ReadAllLines(RepoPaths.Of("docker", dockerfile));

        foreach (var copied in lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal))
                     .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1]))
        {
            Assert.True(File.Exists(RepoPaths.Of(copied)) || Directory.Exists(RepoPaths.Of(copied)), $"{dockerfile}: COPY {copied}: no such path");
        }
        Assert.Contains(lines, l => l == $"ENTRYPOINT [\"dotnet\", \"{K8sLayout.Entrypoints[image]}\"]");
        Assert.Contains(lines, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("TOKEN", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("3", "worker-3")]
    [InlineData("12", "worker-12")]
    public void Should_name_the_worker_after_its_completion_index_when_running_in_an_indexed_job(string index, string id) =>
        Assert.Equal(id, RunCommands.DefaultWorkerId(index));

    private static V1Job Coordinator(K8sObjects objects) => Assert.Single(objects.Jobs, j => j.Metadata.Name == K8sLayout.CoordinatorName("mmcluster"));

    private static V1Job Workers(K8sObjects objects) => Assert.Single(objects.Jobs, j => j.Metadata.Name == K8sLayout.WorkersName("mmcluster"));

    private static V1EnvVar Env(V1Job job, string name) => Assert.Single(job.Spec.Template.Spec.Containers[0].Env, e => e.Name == name);
}
