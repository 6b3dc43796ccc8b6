import { InvalidInputError } from './errors.js';

export interface EcrRegistry {
  /** Canonical lowercase host, e.g. 460210468233.dkr.ecr.us-east-1.amazonaws.com. */
  host: string;
  account: string;
  region: string;
  fips: boolean;
  /** The IPv4+IPv6 `dkr-ecr.<region>.on.aws` endpoint. */
  dualStack: boolean;
  /** aws-cn partition (`.amazonaws.com.cn`). */
  china: boolean;
}

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const ACCOUNT = /^\d{12}$/;
const REPO_SEGMENT = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** The endpoint forms ECR documents, as label lists after the account id. */
const FORMS: readonly { service: RegExp; suffix: string; dualStack: boolean; china: boolean }[] = [
  { service: /^dkr\.ecr(-fips)?$/, suffix: 'amazonaws.com.cn', dualStack: false, china: true },
  { service: /^dkr\.ecr(-fips)?$/, suffix: 'amazonaws.com', dualStack: false, china: false },
  { service: /^dkr-ecr(-fips)?$/, suffix: 'on.amazonwebservices.com.cn', dualStack: true, china: true },
  { service: /^dkr-ecr(-fips)?$/, suffix: 'on.aws', dualStack: true, china: false },
];

const EXPECTED_HOST =
  'expected <12-digit account>.dkr.ecr.<region>.amazonaws.com, or its FIPS (dkr.ecr-fips), China (.amazonaws.com.cn) or dual-stack (dkr-ecr.<region>.on.aws) form';

/** Parses and validates an ECR registry host; the error names the part that is wrong. */
export function parseEcrHost(input: string, subject = 'ECR host'): EcrRegistry {
  const host = input.toLowerCase();
  const form = FORMS.find((f) => host.endsWith(`.${f.suffix}`));
  if (!form) throw new InvalidInputError(subject, input, EXPECTED_HOST);
  const head = host.slice(0, -(form.suffix.length + 1)).split('.');
  // head = [account, ...service labels, region]
  const account = head[0] ?? '';
  const region = head.length >= 3 ? head[head.length - 1]! : '';
  const service = head.slice(1, -1).join('.');
  if (head.length < 3) throw new InvalidInputError(subject, input, EXPECTED_HOST);
  if (!ACCOUNT.test(account)) {
    throw new InvalidInputError(subject, input, `account part ${JSON.stringify(account)} is not a 12-digit AWS account id`);
  }
  const serviceMatch = form.service.exec(service);
  if (!serviceMatch) {
    const allowed = form.dualStack ? 'dkr-ecr or dkr-ecr-fips' : 'dkr.ecr or dkr.ecr-fips';
    throw new InvalidInputError(subject, input, `service part ${JSON.stringify(service)} must be ${allowed}`);
  }
  if (!REGION.test(region)) {
    throw new InvalidInputError(subject, input, `region part ${JSON.stringify(region)} is not an AWS region such as us-east-1`);
  }
  if (form.china !== region.startsWith('cn-')) {
    throw new InvalidInputError(
      subject,
      input,
      form.china
        ? `region part ${JSON.stringify(region)} is not a China region (cn-*), but the host ends in .${form.suffix}`
        : `region part ${JSON.stringify(region)} is a China region, whose hosts end in .amazonaws.com.cn`,
    );
  }
  return { host, account, region, fips: serviceMatch[1] !== undefined, dualStack: form.dualStack, china: form.china };
}

/** The registry host for an account and region; China regions get the aws-cn suffix. */
export function ecrHostFor(options: { account: string; region: string; fips?: boolean; dualStack?: boolean }): string {
  const china = options.region.startsWith('cn-');
  const fips = options.fips ? '-fips' : '';
  const host = options.dualStack
    ? `${options.account}.dkr-ecr${fips}.${options.region}.${china ? 'on.amazonwebservices.com.cn' : 'on.aws'}`
    : `${options.account}.dkr.ecr${fips}.${options.region}.${china ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
  return parseEcrHost(host).host;
}

/** ECR repository names: 2-256 characters of lowercase `/`-separated segments. Names the bad segment. */
export function validateRepositoryName(name: string, subject = 'repository'): string {
  if (name.length < 2 || name.length > 256) {
    throw new InvalidInputError(subject, name, `must be 2-256 characters long, this is ${name.length}`);
  }
  const segments = name.split('/');
  segments.forEach((segment, i) => {
    if (!REPO_SEGMENT.test(segment)) {
      const what = segment === '' ? `segment ${i + 1} is empty` : `segment ${JSON.stringify(segment)}`;
      throw new InvalidInputError(
        subject,
        name,
        `${what} must be lowercase letters and digits, separated by single ".", "_" or "-" (ECR: (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)`,
      );
    }
  });
  return name;
}
