namespace TypedRpc.Generators.Parsing;

/// <summary>
/// Rules for service and topic names. The service name derives the request topic and the
/// consumer group, so it follows Kafka's topic rules: letters, digits, '.', '_' and '-'.
/// </summary>
internal static class NameRules
{
    public const int MaxServiceNameLength = 200;
    public const int MaxTopicLength = 249;

    public static string? ValidateServiceName(string? name)
    {
        if (name is null || name.Trim().Length == 0)
        {
            return "it is empty";
        }

        if (name == "." || name == "..")
        {
            return "'.' and '..' cannot name Kafka topics";
        }

        if (name.Length > MaxServiceNameLength)
        {
            return $"it is {name.Length} characters long; the limit is {MaxServiceNameLength}";
        }

        return ValidateCharacters(name);
    }

    public static string? ValidateTopic(string name)
    {
        if (name.Trim().Length == 0)
        {
            return "it is empty";
        }

        if (name == "." || name == "..")
        {
            return "Kafka does not allow '.' or '..' as topic names";
        }

        if (name.Length > MaxTopicLength)
        {
            return $"it is {name.Length} characters long; Kafka's limit is {MaxTopicLength}";
        }

        return ValidateCharacters(name);
    }

    /// <summary>Kafka treats '.' and '_' in topic names as the same character (metric names collide), so compare them so.</summary>
    public static string KafkaKey(string name) => name.Replace('.', '_');

    private static string? ValidateCharacters(string name)
    {
        foreach (var c in name)
        {
            var ok = c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '.' or '_' or '-';
            if (!ok)
            {
                return $"'{c}' is not allowed; use letters, digits, '.', '_' or '-'";
            }
        }

        return null;
    }
}
