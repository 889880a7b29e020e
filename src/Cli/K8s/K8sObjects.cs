using k8s;
using k8s.Models;

namespace MmCluster.Cli.K8s;

/// <summary>
/// The Kubernetes objects of a manifest directory, parsed strictly into KubernetesClient's own types (an unknown or
/// misspelled field is an error naming the file), grouped by kind.
/// </summary>
internal sealed record K8sObjects(
    IReadOnlyList<V1Job> Jobs,
    IReadOnlyList<V1Service> Services,
    IReadOnlyList<V1ConfigMap> ConfigMaps,
    IReadOnlyList<V1Secret> Secrets,
    IReadOnlyList<V1PersistentVolumeClaim> Claims)
{
    /// <summary>Every <c>*.yaml</c> of <paramref name="directory"/> except <c>kustomization.yaml</c> (not a Kubernetes object).</summary>
    public static K8sObjects Load(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"manifest directory {directory} does not exist");
        }
        var all = new List<object>();
        foreach (var file in Directory.GetFiles(directory, "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml").Order(StringComparer.Ordinal))
        {
            try
            {
                all.AddRange(KubernetesYaml.LoadAllFromString(File.ReadAllText(file), strict: true));
            }
            catch (Exception e) when (e is YamlDotNet.Core.YamlException or ArgumentException or InvalidOperationException)
            {
                throw new ArgumentException($"{file}: not a valid Kubernetes object: {e.Message}{(e.InnerException is { } inner ? $" ({inner.Message})" : "")}", e);
            }
        }
        var unknown = all.FirstOrDefault(o => o is not (V1Job or V1Service or V1ConfigMap or V1Secret or V1PersistentVolumeClaim));
        if (unknown is not null)
        {
            throw new ArgumentException($"{directory}: {unknown.GetType().Name} objects are not part of a run");
        }
        return new K8sObjects(all.OfType<V1Job>().ToList(), all.OfType<V1Service>().ToList(), all.OfType<V1ConfigMap>().ToList(),
            all.OfType<V1Secret>().ToList(), all.OfType<V1PersistentVolumeClaim>().ToList());
    }

    public V1Secret Secret(string name) => Secrets.FirstOrDefault(s => s.Metadata.Name == name)
        ?? throw new ArgumentException($"no Secret '{name}' among the manifests (create it, or render with --token generate)");

    public V1ConfigMap ConfigMap(string name) => ConfigMaps.FirstOrDefault(c => c.Metadata.Name == name)
        ?? throw new ArgumentException($"no ConfigMap '{name}' among the manifests");

    /// <summary>A Secret's value: <c>stringData</c> as written, or <c>data</c> (base64 bytes).</summary>
    public string SecretValue(string name, string key)
    {
        var secret = Secret(name);
        if (secret.StringData?.TryGetValue(key, out var text) == true)
        {
            return text;
        }
        return secret.Data?.TryGetValue(key, out var bytes) == true
            ? System.Text.Encoding.UTF8.GetString(bytes)
            : throw new ArgumentException($"Secret '{name}' has no key '{key}'");
    }
}
