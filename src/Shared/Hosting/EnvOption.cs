using System.CommandLine;
using System.Globalization;

namespace MmCluster.Shared.Hosting;

/// <summary>
/// Command-line flags that fall back to an environment variable (<c>MMCLUSTER_*</c>): the contract between the process
/// roles (<c>coordinator</c>, <c>worker</c>) and whoever starts them (the dev cluster, Kubernetes manifests). Each option
/// remembers its variable, so tooling can list every variable a command reads.
/// </summary>
public static class EnvOption
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Option, string> Variables = new();

    /// <summary>A flag <paramref name="name"/> whose default is <paramref name="env"/>, else <paramref name="fallback"/>.</summary>
    public static Option<T> Create<T>(string name, string env, string description, T fallback)
    {
        var option = new Option<T>(name)
        {
            Description = $"{description} (env {env})",
            DefaultValueFactory = _ => FromEnvironment(env, fallback),
        };
        Variables.Add(option, env);
        return option;
    }

    /// <summary>The environment variable an option made by <see cref="Create{T}"/> reads; null for other options.</summary>
    public static string? VariableOf(Option option) => Variables.TryGetValue(option, out var env) ? env : null;

    private static T FromEnvironment<T>(string env, T fallback)
    {
        var text = Environment.GetEnvironmentVariable(env);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        try
        {
            return (T)(type == typeof(bool) ? text is "1" or "true" or "True" : Convert.ChangeType(text, type, CultureInfo.InvariantCulture));
        }
        catch (FormatException)
        {
            throw new ArgumentException($"environment variable {env}='{text}' is not a valid {type.Name}");
        }
    }
}
